import { defineConfig } from 'vitest/config';

/** `npm run test:image`: the Docker image built from the Dockerfile and run by podman (test/image/). */
export default defineConfig({
  test: {
    include: ['test/image/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // One file, its containers one after another: the build alone takes minutes on a busy machine.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 900_000,
    reporters: ['verbose'],
  },
});

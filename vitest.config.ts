import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The image test builds and runs the Docker image (minutes, root, podman): `npm run test:image`,
    // which CI runs once on the image's Node.js, not once per major (vitest.image.config.ts).
    exclude: [...configDefaults.exclude, 'test/image/**'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // Integration tests start real servers and child processes; a busy 2-core machine needs slack.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});

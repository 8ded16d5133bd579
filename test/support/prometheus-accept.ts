/** The `Accept` header Prometheus 2.42 scrapes with by default (scrape/scrape.go): OpenMetrics 1.0.0 first. */
export const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

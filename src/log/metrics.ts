/**
 * Operational metrics in the Prometheus text exposition format (version 0.0.4).
 * Counters only grow; gauges are sampled when rendered.
 */

const INTEGRATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class Metrics {
  private size = 0;
  private integrations = 0;
  private integratedItems = 0;
  private readonly bucketCounts = new Array<number>(INTEGRATION_BUCKETS.length).fill(0);
  private latencySum = 0;
  private readonly responses = new Map<number, number>();
  private readonly sections: Array<() => string> = [];

  /** The tree size after the latest integration. */
  setSize(size: number): void {
    this.size = size;
  }

  /** One integration took `seconds` for `items` submissions. */
  observeIntegration(seconds: number, items: number): void {
    this.integrations++;
    this.integratedItems += items;
    this.latencySum += seconds;
    INTEGRATION_BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.bucketCounts[i]!++;
    });
  }

  /** One HTTP response with this status was sent. */
  countResponse(status: number): void {
    this.responses.set(status, (this.responses.get(status) ?? 0) + 1);
  }

  /** Adds metrics rendered by another part (the HTTP connection guard), after these. */
  addSection(render: () => string): void {
    this.sections.push(render);
  }

  /** The metrics as Prometheus text. */
  render(gauges: { queueDepth: number; storageFailed?: boolean }): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: string[]): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
    };
    metric('candor_entries', 'gauge', 'Entries in the log (the latest checkpoint size).', [
      `candor_entries ${this.size}`,
    ]);
    metric('candor_queue_depth', 'gauge', 'Submissions waiting for integration.', [
      `candor_queue_depth ${gauges.queueDepth}`,
    ]);
    metric(
      'candor_storage_failed',
      'gauge',
      'Whether a failed storage write keeps the log from taking entries (1) or not (0).',
      [`candor_storage_failed ${gauges.storageFailed === true ? 1 : 0}`]
    );
    metric('candor_integrated_submissions_total', 'counter', 'Submissions integrated, duplicates included.', [
      `candor_integrated_submissions_total ${this.integratedItems}`,
    ]);
    metric(
      'candor_integration_seconds',
      'histogram',
      'Time to integrate one batch: hashing, signing and the fsynced commit.',
      [
        ...INTEGRATION_BUCKETS.map(
          (le, i) => `candor_integration_seconds_bucket{le="${le}"} ${this.bucketCounts[i]}`
        ),
        `candor_integration_seconds_bucket{le="+Inf"} ${this.integrations}`,
        `candor_integration_seconds_sum ${this.latencySum}`,
        `candor_integration_seconds_count ${this.integrations}`,
      ]
    );
    metric(
      'candor_http_responses_total',
      'counter',
      'HTTP responses sent, by status code.',
      [...this.responses]
        .sort((a, b) => a[0] - b[0])
        .map(([status, n]) => `candor_http_responses_total{status="${status}"} ${n}`)
    );
    return lines.join('\n') + '\n' + this.sections.map((render) => render()).join('');
  }
}

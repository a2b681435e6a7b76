/**
 * Probe bookkeeping, separate from running probes: consecutive successes
 * and failures against the probe's thresholds decide the result, as the
 * kubelet's prober does. Readiness starts failed, liveness and startup
 * start unknown (a container is not killed before a probe has failed).
 */
export interface ProbeSpec {
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export type ProbeResult = 'unknown' | 'success' | 'failure';

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

export function probeTiming(spec: ProbeSpec): ProbeTiming {
  return {
    initialDelayMs: Math.max(0, spec.initialDelaySeconds ?? 0) * 1000,
    periodMs: Math.max(1, spec.periodSeconds ?? 10) * 1000,
    timeoutMs: Math.max(1, spec.timeoutSeconds ?? 1) * 1000,
    successThreshold: Math.max(1, spec.successThreshold ?? 1),
    failureThreshold: Math.max(1, spec.failureThreshold ?? 3),
  };
}

export class ProbeState {
  result: ProbeResult;
  private successes = 0;
  private failures = 0;

  constructor(
    private readonly timing: Pick<ProbeTiming, 'successThreshold' | 'failureThreshold'>,
    initial: ProbeResult = 'unknown',
  ) {
    this.result = initial;
  }

  /** Records one probe outcome; returns true when the result changed. */
  record(ok: boolean): boolean {
    const before = this.result;
    if (ok) {
      this.failures = 0;
      this.successes++;
      if (this.successes >= this.timing.successThreshold) this.result = 'success';
    } else {
      this.successes = 0;
      this.failures++;
      if (this.failures >= this.timing.failureThreshold) this.result = 'failure';
    }
    return before !== this.result;
  }
}

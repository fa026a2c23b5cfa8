/**
 * Prometheus alert templating (`{{ $labels.instance }}`, `{{ $value }}`,
 * `{{ $externalLabels.cluster }}`) on the LogQL Go text/template engine. As Prometheus does
 * (rules/alerting.go), the variable definitions are prepended to the text and the template is
 * named `__alert_<alertname>`.
 */
import { asLabelMap, compileTemplate, type CompiledTemplate } from '../logql/template/index.js';

const DEFS = '{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$value := .Value}}';

/** Data of one expansion. */
export interface AlertTemplateData {
  labels: Record<string, string>;
  externalLabels: Record<string, string>;
  externalUrl: string;
  value: number;
}

/** Parses once; throws ParseError on syntax errors and unknown functions. */
export function compileAlertTemplate(text: string, alertName: string): CompiledTemplate {
  return compileTemplate(DEFS + text, `__alert_${alertName}`);
}

/**
 * Expands a compiled template. A template without actions is returned as is; an execution
 * failure yields Prometheus' `<error expanding template: …>` text instead of throwing.
 */
export function expandAlertTemplate(t: CompiledTemplate, raw: string, data: AlertTemplateData): string {
  if (!raw.includes('{{')) return raw;
  const labels = asLabelMap({ ...data.labels });
  const ext = asLabelMap({ ...data.externalLabels });
  const fields: Record<string, unknown> = { Labels: labels, ExternalLabels: ext, ExternalURL: data.externalUrl, Value: data.value };
  try {
    return t.execute({
      // The root fields are maps and a float, not label strings; the engine passes them through.
      get: (name) => fields[name] as string | undefined,
      line: '',
      tsNs: 0n,
      labels: () => ({}),
    });
  } catch (e) {
    return `<error expanding template: ${(e as Error).message}>`;
  }
}

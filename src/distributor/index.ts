/** The distributor role: push body decoding, validation, tenant rate limits, forwarding. */
export { Distributor, UnprocessableError, type DistributorOptions, type IngesterPusher } from './distributor.js';
export { decodePushBody, parseMediaType, uncompressSnappy, decompressedTooLargeMessage } from './decode.js';
export { decodePushRequestProto } from './decode-proto.js';
export { PushDecoder, WORKER_MIN_BODY_BYTES, type LineLevelOptions } from './push-decoder.js';
export { decodePushRequestJson } from './decode-json.js';
export {
  defaultLimits,
  limitsYamlKeys,
  limitsUnits,
  StaticLimitsProvider,
  tenantLimitsFromYaml,
  type LimitUnit,
  type LimitsProvider,
  type TenantLimits,
} from './limits.js';
export { RateLimiters, TokenBucket, type RateLimitersOptions } from '../util/rate-limiter.js';
export { LabelsCache, parseLabelString, parsedLabelsAsSent, utf8Length, type ParsedLabels } from './labels-parser.js';
export {
  formatRfc3339,
  GroupedErrors,
  Msg,
  Reason,
  structuredMetadataBytes,
  Validator,
  type Tally,
  type ValidationResult,
  type ValidatorOptions,
} from './validate.js';
export { decodeOtlpBody, otlpToPushRequest, otlpLabelName, otlpValueString, type OtlpOptions } from './otlp.js';
export { decodeOtlpLogsJson, decodeOtlpLogsProto, type OtlpLogs } from './decode-otlp.js';
export { addDetectedLevels, discoverServiceName, LevelDetector, normalizeLogLevel } from './field-detection.js';

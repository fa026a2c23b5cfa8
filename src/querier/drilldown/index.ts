/** Grafana Explore and Logs Drilldown endpoints: volume, detected labels and fields, patterns. */
export { computeVolume, volumeResult, DEFAULT_VOLUME_LIMIT, type VolumeBucket, type VolumeRequest, type VolumeAggregateBy } from './volume.js';
export { detectedLabels, shouldRejectLabel, type DetectedLabel } from './detected-labels.js';
export { detectedFields, detectedFieldValues, fieldsOfLines, fieldValuesOfLines, type DetectedField, type DetectedFieldLines, type DetectedFieldsRequest } from './detected-fields.js';
export { detectPatterns, type PatternSeries, type PatternsRequest } from './patterns.js';
export { determineType, type DetectedFieldType } from './field-type.js';
export { Drain, tokenize, PARAM } from './drain.js';
export { withSignal, type DrilldownSource } from './types.js';

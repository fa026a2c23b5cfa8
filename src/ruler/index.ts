/** The ruler role: rule groups, evaluation, alert notifications and remote write. */
export { Ruler, formatFloatE, generatorUrl, ERR_GROUP_NOT_FOUND, ERR_NAMESPACE_NOT_FOUND, ERR_NO_RULE_GROUPS } from './ruler.js';
export type { RulerConfig, RulerDeps, RulesFilter } from './ruler.js';
export type { RuleQuerier } from './group.js';
export { ObjectRuleStore } from './store.js';
export type { RuleStore, RuleStoreLayout } from './store.js';
export { decodeRuleGroup, groupToYamlValue, validateGroups, ERR_BAD_RULE_GROUP } from './rule-group.js';
export type { RuleGroupSpec, RuleSpec } from './rule-group.js';
export { encodeWriteRequest } from './remote-write.js';

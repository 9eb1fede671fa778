export { runAssign, parseAttributes, type AssignOptions, type AssignCommandResult } from './commands/assign.js';
export { runPlan, formatPlan, readExposed, type PlanOptions } from './commands/plan.js';
export { runValidate, type ValidateResult } from './commands/validate.js';
export { runKeygen } from './commands/keygen.js';
export { runDemo, type DemoResult } from './commands/demo.js';
export { CliError, loadConfig, parseConfigText, readConfigDocument, parseNow } from './config-file.js';

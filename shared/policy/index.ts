export * from './scopes.ts';
export * from './labels.ts';
export * from './matcher.ts';
export * from './findings.ts';
export * from './describe.ts';

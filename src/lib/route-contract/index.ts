// Route contracts: see docs/routes.md.
export { defineRoute, type AuthKind, type ResponseSpec, type RouteContract, type AnyContract } from './define.js';
export { atLeastOneOf, declareParams, exactlyOneOf, given, mutuallyExclusive, type ParamsDeclaration, type ParamDescription, type Shape } from './params.js';

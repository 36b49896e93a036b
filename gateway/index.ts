/**
 * The gateway's public surface: build the HTTP app, run it, or talk to a scheduler over gRPC.
 * Route modules, schemas and error mapping are internal and not exported from here.
 */
export { buildApp, resolveGatewayOptions, GATEWAY_APP_DEFAULTS } from './app.js';
export type { GatewayAppOptions, ResolvedGatewayAppOptions } from './app.js';
export { startGateway, GATEWAY_DEFAULTS } from './main.js';
export type { StartGatewayOptions, RunningGateway } from './main.js';
export { createGrpcControlClient, GRPC_CONTROL_CLIENT_DEFAULTS } from './scheduler-client.js';
export type { GrpcControlClientOptions } from './scheduler-client.js';
export type { ControlClient, InvokeArgs, ListExecutionsArgs, NewKeyArgs } from './control-client.js';
export { CachingAuthenticator, KEY_CACHE_DEFAULTS } from './authenticator.js';
export type { Authenticator, CachingAuthenticatorOptions } from './authenticator.js';
export { NoAuthRefusedError } from './main.js';

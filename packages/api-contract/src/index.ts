export * from './blocks.js';
export * from './issues.js';
export * from './objects.js';
export * from './openapi.js';
export * from './route.js';
export * from './routes.js';
export * from './scalars.js';
export * from './types.js';

import type { z } from 'zod';
import type { OperationId, RouteOf } from './routes.js';

/**
 * Types of each route, from its schemas: `Params<'getLease'>` is `{hash: string}`,
 * `Reply<'getLease'>` the parsed lease (64-bit fields as bigint). `…Input` types are what
 * a caller may pass (numbers or bigints for integers).
 */
type Field<R, K extends string> = R extends { [P in K]: infer S } ? S : never;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;
type In<S> = S extends z.ZodType ? z.input<S> : undefined;

export type Params<K extends OperationId> = Out<Field<RouteOf<K>, 'params'>>;
export type Query<K extends OperationId> = Out<Field<RouteOf<K>, 'query'>>;
export type RequestHeaders<K extends OperationId> = In<Field<RouteOf<K>, 'headers'>>;
export type Body<K extends OperationId> = Out<Field<RouteOf<K>, 'body'>>;
export type BodyInput<K extends OperationId> = In<Field<RouteOf<K>, 'body'>>;

type Responses<K extends OperationId> = RouteOf<K>['responses'];
type SchemaOf<D> = D extends { schema: infer S } ? S : never;

/** The parsed body of any answer the route defines (for `/ready`, 200 and 503 alike). */
export type Reply<K extends OperationId> = Out<SchemaOf<Responses<K>[keyof Responses<K>]>>;

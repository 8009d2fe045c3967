/** Parses outside input with a zod schema, turning failures into a 400 ApiError that names the field. */
import type { z } from 'zod';
import { ApiError } from './ApiError.js';

export function parse<S extends z.ZodTypeAny>(schema: S, input: unknown, where: string): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw ApiError.fromZod(r.error, where);
  return r.data;
}

// GitLab's API layer answers errors in two shapes: helpers render
// {"message": ...} and Grape parameter validation renders {"error": ...}.
// Services throw these; the one error handler turns them into responses.

export class ApiError extends Error {
  constructor(
    public readonly statusCode: number,
    public readonly body: Record<string, unknown>,
    public readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.message === 'string' ? body.message : typeof body.error === 'string' ? body.error : `HTTP ${statusCode}`);
  }
}

const message = (status: number, msg: unknown, headers?: Record<string, string>) =>
  new ApiError(status, { message: msg }, headers);

/** `not_found!('Runner')` → 404 {"message":"404 Runner Not Found"}; no argument → "404 Not Found". */
export const notFound = (resource?: string) => message(404, resource ? `404 ${resource} Not Found` : '404 Not Found');
/** `forbidden!(reason)` → 403 {"message":"403 Forbidden - reason"}. */
export const forbidden = (reason?: string) => message(403, reason ? `403 Forbidden - ${reason}` : '403 Forbidden');
export const unauthorized = () => message(401, '401 Unauthorized');
/** `bad_request!(reason)` → 400 {"message":"400 Bad request - reason"} (lowercase r, as GitLab). */
export const badRequest = (reason?: string) => message(400, reason ? `400 Bad request - ${reason}` : '400 Bad request');
/** Grape parameter validation: 400 {"error":"<p> is missing, <q> is invalid"}. */
export const paramError = (msg: string) => new ApiError(400, { error: msg });
/** Model validation: 400 {"message":{"attr":["msg"]}}. */
export const validationError = (errors: Record<string, string[]>) => message(400, errors);
export const preconditionFailed = () => message(412, '412 Precondition Failed');
export const gone = (reason: string) => message(410, `410 Gone - ${reason}`);
export const conflict = (msg: string) => message(409, msg);
/** A raw {"message": msg} with any status, for GitLab's one-off messages. */
export const apiError = (status: number, msg: unknown, headers?: Record<string, string>) => message(status, msg, headers);

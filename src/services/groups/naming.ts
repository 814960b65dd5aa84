// GitLab's naming rules for namespaces (users and groups) and projects, with
// its error messages (Gitlab::PathRegex, Gitlab::Regex, NamespacePathValidator,
// ProjectPathValidator). Each check returns the messages for one attribute.

export type FieldErrors = Record<string, string[]>;

export function addError(errors: FieldErrors, key: string, message: string): void {
  (errors[key] ??= []).push(message);
}

const PATH_FORMAT = /^[a-zA-Z0-9_.][a-zA-Z0-9_\-.]*$/;
const PATH_MESSAGE = "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'";

// Top-level routes GitLab keeps for itself (a subset of Gitlab::PathRegex::TOP_LEVEL_ROUTES).
const RESERVED_TOP_LEVEL = new Set([
  '-', '.well-known', 'admin', 'api', 'assets', 'dashboard', 'explore', 'favicon.ico', 'groups', 'help', 'import',
  'jwt', 'login', 'oauth', 'profile', 'projects', 'public', 'robots.txt', 'search', 'sitemap', 'uploads', 'users',
]);

/** A namespace or project path: format, length and reserved words. */
export function pathErrors(path: string, opts: { topLevel: boolean }): string[] {
  const messages: string[] = [];
  if (path.trim() === '') return ["can't be blank"];
  if (path.length > 255) messages.push('is too long (maximum is 255 characters)');
  if (!PATH_FORMAT.test(path) || /\.(git|atom)$/i.test(path)) messages.push(PATH_MESSAGE);
  if (opts.topLevel && RESERVED_TOP_LEVEL.has(path.toLowerCase())) messages.push(`${path} is a reserved name`);
  return messages;
}

// Letters, digits and emoji (any non-ASCII symbol) to start, then also '_', '.', '-', space, '(', ')', '+', ':'.
const GROUP_NAME_FORMAT = /^[\p{L}\p{N}_\p{Extended_Pictographic}][\p{L}\p{N}_\p{Extended_Pictographic}.\- ()+:\u200d\ufe0f]*$/u;
const PROJECT_NAME_FORMAT = /^[\p{L}\p{N}_\p{Extended_Pictographic}][\p{L}\p{N}_\p{Extended_Pictographic}.\- +\u200d\ufe0f]*$/u;

export function groupNameErrors(name: string): string[] {
  if (name.trim() === '') return ["can't be blank"];
  const messages: string[] = [];
  if (name.length > 255) messages.push('is too long (maximum is 255 characters)');
  if (!GROUP_NAME_FORMAT.test(name)) {
    messages.push("can contain only letters, digits, emoji, '_', '.', dash, space, parenthesis. It must start with letter, digit, emoji or '_'.");
  }
  return messages;
}

export function projectNameErrors(name: string): string[] {
  if (name.trim() === '') return ["can't be blank"];
  const messages: string[] = [];
  if (name.length > 255) messages.push('is too long (maximum is 255 characters)');
  if (!PROJECT_NAME_FORMAT.test(name)) {
    messages.push("can contain only letters, digits, emoji, '_', '.', '+', dashes, or spaces. It must start with a letter, digit, emoji, or '_'.");
  }
  return messages;
}

/** The path GitLab's forms derive from a name: "My Project" → "my-project". */
export function slugify(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
}

const VISIBILITY_RANK: Record<string, number> = { private: 0, internal: 10, public: 20 };
export const visibilityRank = (v: string) => VISIBILITY_RANK[v] ?? 0;

/**
 * Ruby's Hash#inspect of errors.messages, as GitLab embeds it in
 * "Failed to save group {:path=>[\"has already been taken\"]}".
 */
export function rubyInspectErrors(errors: FieldErrors): string {
  const str = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const entries = Object.entries(errors).map(([key, msgs]) => `:${key}=>[${msgs.map(str).join(', ')}]`);
  return `{${entries.join(', ')}}`;
}

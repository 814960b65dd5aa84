// A parser for the subset of the Prisma schema language this project uses,
// and the PostgreSQL structure Prisma Migrate derives from it. The migrations
// test compares that with what the SQL migrations really create.
//
// It fails loudly on anything outside the subset (an unknown attribute, type,
// block or default) so that a schema change it cannot judge never passes
// silently: extend the parser instead.

export type ScalarType = 'Int' | 'String' | 'Boolean' | 'DateTime' | 'Json' | 'Bytes' | 'Float';
const SCALARS = new Set<string>(['Int', 'String', 'Boolean', 'DateTime', 'Json', 'Bytes', 'Float']);

export type DefaultValue =
  | { kind: 'autoincrement' }
  | { kind: 'now' }
  | { kind: 'literal'; value: string | number | boolean }
  | { kind: 'list'; values: Array<string | number | boolean> };

export type ReferentialAction = 'Cascade' | 'SetNull' | 'Restrict' | 'NoAction' | 'SetDefault';
const ACTIONS = new Set<string>(['Cascade', 'SetNull', 'Restrict', 'NoAction', 'SetDefault']);

export interface RelationSpec {
  name?: string;
  fields?: string[];
  references?: string[];
  onDelete?: ReferentialAction;
  onUpdate?: ReferentialAction;
}

export interface PrismaField {
  name: string;
  type: string;
  optional: boolean;
  list: boolean;
  id: boolean;
  unique: boolean;
  updatedAt: boolean;
  default?: DefaultValue;
  /** `@db.Timestamptz(3)` → { name: 'Timestamptz', args: ['3'] }. */
  nativeType?: { name: string; args: string[] };
  relation?: RelationSpec;
}

export interface PrismaModel {
  name: string;
  table: string;
  fields: PrismaField[];
  indexes: Array<{ fields: string[]; type?: 'Gin' }>;
  uniques: Array<{ fields: string[] }>;
}

export class PrismaSchemaError extends Error {}

const fail = (line: number, msg: string): never => {
  throw new PrismaSchemaError(`schema.prisma line ${line}: ${msg}`);
};

// ---------------------------------------------------------------------------
// Attribute argument parsing: a tiny recursive-descent parser for the values
// that appear inside @attr(...): strings, numbers, booleans, identifiers,
// function calls like now(), lists [...] and `name: value` pairs.

type Value = { t: 'str'; v: string } | { t: 'num'; v: number } | { t: 'bool'; v: boolean } | { t: 'ident'; v: string } | { t: 'call'; v: string } | { t: 'list'; v: Value[] };
interface Args {
  positional: Value[];
  named: Record<string, Value>;
}

class ArgParser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly line: number,
  ) {}

  private ws() {
    while (this.i < this.src.length && /\s/.test(this.src[this.i]!)) this.i++;
  }

  private peek() {
    this.ws();
    return this.src[this.i];
  }

  private expect(ch: string) {
    if (this.peek() !== ch) fail(this.line, `expected "${ch}" in "${this.src}"`);
    this.i++;
  }

  args(): Args {
    const out: Args = { positional: [], named: {} };
    if (this.peek() === ')') return out;
    for (;;) {
      const save = this.i;
      const name = this.identifier();
      if (name !== undefined && this.peek() === ':') {
        this.i++;
        out.named[name] = this.value();
      } else {
        this.i = save;
        out.positional.push(this.value());
      }
      if (this.peek() === ',') {
        this.i++;
        continue;
      }
      return out;
    }
  }

  private identifier(): string | undefined {
    this.ws();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.i));
    if (!m) return undefined;
    this.i += m[0].length;
    return m[0];
  }

  value(): Value {
    const c = this.peek();
    if (c === '"') {
      const m = /^"((?:[^"\\]|\\.)*)"/.exec(this.src.slice(this.i));
      if (!m) fail(this.line, `unterminated string in "${this.src}"`);
      this.i += m![0].length;
      return { t: 'str', v: JSON.parse(m![0]) as string };
    }
    if (c === '[') {
      this.i++;
      const items: Value[] = [];
      if (this.peek() === ']') {
        this.i++;
        return { t: 'list', v: items };
      }
      for (;;) {
        items.push(this.value());
        if (this.peek() === ',') {
          this.i++;
          continue;
        }
        this.expect(']');
        return { t: 'list', v: items };
      }
    }
    const num = /^-?\d+(\.\d+)?/.exec(this.src.slice(this.i));
    if (num) {
      this.i += num[0].length;
      return { t: 'num', v: Number(num[0]) };
    }
    const id = this.identifier();
    if (id === undefined) return fail(this.line, `cannot read a value at "${this.src.slice(this.i)}"`);
    if (id === 'true' || id === 'false') return { t: 'bool', v: id === 'true' };
    if (this.peek() === '(') {
      this.i++;
      this.expect(')');
      return { t: 'call', v: id };
    }
    return { t: 'ident', v: id };
  }

  done() {
    this.ws();
    if (this.i !== this.src.length) fail(this.line, `unexpected "${this.src.slice(this.i)}"`);
  }
}

function parseArgs(src: string, line: number): Args {
  const p = new ArgParser(src, line);
  const args = p.args();
  p.done();
  return args;
}

/** Splits `a @x(1, [2]) @y` into ['@x(1, [2])', '@y'], respecting brackets and strings. */
function splitAttributes(src: string, line: number): Array<{ name: string; args?: string }> {
  const out: Array<{ name: string; args?: string }> = [];
  let i = 0;
  while (i < src.length) {
    if (/\s/.test(src[i]!)) {
      i++;
      continue;
    }
    const m = /^@{1,2}[A-Za-z_][A-Za-z0-9_.]*/.exec(src.slice(i));
    if (!m) fail(line, `cannot read attribute at "${src.slice(i)}"`);
    i += m![0].length;
    let args: string | undefined;
    if (src[i] === '(') {
      let depth = 0;
      let inString = false;
      const start = i + 1;
      for (; i < src.length; i++) {
        const ch = src[i];
        if (inString) {
          if (ch === '\\') i++;
          else if (ch === '"') inString = false;
        } else if (ch === '"') inString = true;
        else if (ch === '(' || ch === '[') depth++;
        else if (ch === ')' || ch === ']') {
          depth--;
          if (depth === 0) break;
        }
      }
      if (depth !== 0) fail(line, `unbalanced parentheses in "${src}"`);
      args = src.slice(start, i);
      i++;
    }
    out.push({ name: m![0], args });
  }
  return out;
}

const str = (v: Value, line: number, what: string): string => (v.t === 'str' ? v.v : fail(line, `${what} must be a string`));
const identList = (v: Value, line: number, what: string): string[] =>
  v.t === 'list' && v.v.every((x) => x.t === 'ident') ? v.v.map((x) => (x as { v: string }).v) : fail(line, `${what} must be a list of field names`);

function literal(v: Value, line: number): string | number | boolean {
  if (v.t === 'str' || v.t === 'num' || v.t === 'bool') return v.v;
  return fail(line, `unsupported default value ${JSON.stringify(v)}`);
}

function parseDefault(args: Args, line: number): DefaultValue {
  if (args.positional.length !== 1 || Object.keys(args.named).length > 0) fail(line, '@default takes exactly one value');
  const v = args.positional[0]!;
  if (v.t === 'call') {
    if (v.v === 'autoincrement') return { kind: 'autoincrement' };
    if (v.v === 'now') return { kind: 'now' };
    return fail(line, `unsupported default function ${v.v}()`);
  }
  if (v.t === 'list') return { kind: 'list', values: v.v.map((x) => literal(x, line)) };
  return { kind: 'literal', value: literal(v, line) };
}

function parseRelation(args: Args, line: number): RelationSpec {
  const rel: RelationSpec = {};
  if (args.positional.length > 1) fail(line, '@relation takes at most one positional argument (its name)');
  if (args.positional[0]) rel.name = str(args.positional[0], line, 'relation name');
  for (const [key, v] of Object.entries(args.named)) {
    if (key === 'name') rel.name = str(v, line, 'relation name');
    else if (key === 'fields') rel.fields = identList(v, line, 'fields');
    else if (key === 'references') rel.references = identList(v, line, 'references');
    else if (key === 'onDelete' || key === 'onUpdate') {
      if (v.t !== 'ident' || !ACTIONS.has(v.v)) fail(line, `unknown referential action ${JSON.stringify(v)}`);
      rel[key] = (v as { v: ReferentialAction }).v;
    } else fail(line, `unsupported @relation argument "${key}"`);
  }
  if ((rel.fields === undefined) !== (rel.references === undefined)) fail(line, '@relation needs both fields and references');
  return rel;
}

const NATIVE_TYPES: Record<string, { scalar: ScalarType; args: number }> = {
  Timestamptz: { scalar: 'DateTime', args: 1 },
  Timestamp: { scalar: 'DateTime', args: 1 },
  Date: { scalar: 'DateTime', args: 0 },
};

function parseField(text: string, line: number): PrismaField {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)\s+([A-Za-z_][A-Za-z0-9_]*)(\[\]|\?)?(.*)$/.exec(text);
  if (!m) return fail(line, `cannot read field "${text}"`);
  const [, name, type, modifier, rest] = m;
  const field: PrismaField = {
    name: name!,
    type: type!,
    optional: modifier === '?',
    list: modifier === '[]',
    id: false,
    unique: false,
    updatedAt: false,
  };
  for (const attr of splitAttributes(rest!.trim(), line)) {
    const args = attr.args === undefined ? undefined : parseArgs(attr.args, line);
    const noArgs = () => {
      if (args !== undefined) fail(line, `${attr.name} takes no arguments`);
    };
    switch (attr.name) {
      case '@id':
        noArgs();
        field.id = true;
        break;
      case '@unique':
        noArgs();
        field.unique = true;
        break;
      case '@updatedAt':
        noArgs();
        field.updatedAt = true;
        break;
      case '@default':
        if (!args) fail(line, '@default needs a value');
        field.default = parseDefault(args!, line);
        break;
      case '@relation':
        field.relation = parseRelation(args ?? { positional: [], named: {} }, line);
        break;
      default: {
        const native = /^@db\.([A-Za-z]+)$/.exec(attr.name);
        if (!native) fail(line, `unsupported attribute ${attr.name}`);
        const spec = NATIVE_TYPES[native![1]!];
        if (!spec) fail(line, `unsupported native type ${attr.name}`);
        if (field.type !== spec!.scalar) fail(line, `${attr.name} on a ${field.type} field`);
        const nativeArgs = (args?.positional ?? []).map((v) => (v.t === 'num' ? String(v.v) : fail(line, `${attr.name} takes numbers`)));
        if (nativeArgs.length !== spec!.args) fail(line, `${attr.name} takes ${spec!.args} argument(s)`);
        field.nativeType = { name: native![1]!, args: nativeArgs };
      }
    }
  }
  return field;
}

function parseBlockAttribute(model: PrismaModel, text: string, line: number) {
  const [attr, ...more] = splitAttributes(text, line);
  if (!attr || more.length > 0) fail(line, `cannot read "${text}"`);
  const args = parseArgs(attr!.args ?? '', line);
  switch (attr!.name) {
    case '@@map':
      if (args.positional.length !== 1 || Object.keys(args.named).length) fail(line, '@@map takes one name');
      model.table = str(args.positional[0]!, line, '@@map');
      return;
    case '@@index':
    case '@@unique': {
      if (args.positional.length !== 1) fail(line, `${attr!.name} takes one field list`);
      const fields = identList(args.positional[0]!, line, attr!.name);
      const named = Object.entries(args.named);
      if (attr!.name === '@@unique' && named.length) fail(line, `unsupported @@unique arguments ${named.map(([k]) => k).join(', ')}`);
      let type: 'Gin' | undefined;
      for (const [key, v] of named) {
        if (key !== 'type' || v.t !== 'ident' || v.v !== 'Gin') fail(line, `unsupported @@index argument ${key}`);
        type = 'Gin';
      }
      if (attr!.name === '@@unique') model.uniques.push({ fields });
      else model.indexes.push({ fields, type });
      return;
    }
    default:
      fail(line, `unsupported block attribute ${attr!.name}`);
  }
}

/** Parses schema.prisma text; throws PrismaSchemaError on anything unknown. */
export function parsePrismaSchema(source: string): PrismaModel[] {
  const models: PrismaModel[] = [];
  let current: PrismaModel | undefined;
  let skipping: string | undefined; // generator / datasource blocks
  source.split('\n').forEach((raw, idx) => {
    const line = idx + 1;
    const text = raw.replace(/\/\/.*$/, '').trim(); // also strips /// doc comments
    if (text === '') return;
    if (skipping) {
      if (text === '}') skipping = undefined;
      else if (!/^[A-Za-z_]+\s*=/.test(text)) fail(line, `unexpected "${text}" in ${skipping} block`);
      return;
    }
    if (!current) {
      const block = /^(model|generator|datasource|enum|view|type)\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{$/.exec(text);
      if (!block) return fail(line, `unexpected "${text}" outside a block`);
      if (block[1] === 'generator' || block[1] === 'datasource') skipping = block[1];
      else if (block[1] === 'model') current = { name: block[2]!, table: block[2]!, fields: [], indexes: [], uniques: [] };
      else fail(line, `unsupported block type "${block[1]}"`);
      return;
    }
    if (text === '}') {
      models.push(current);
      current = undefined;
      return;
    }
    if (text.startsWith('@@')) parseBlockAttribute(current, text, line);
    else current.fields.push(parseField(text, line));
  });
  if (current || skipping) throw new PrismaSchemaError('schema.prisma: unterminated block');

  // Every non-scalar type must be a model; relation arguments must name fields.
  const byName = new Map(models.map((m) => [m.name, m]));
  for (const model of models) {
    for (const f of model.fields) {
      if (SCALARS.has(f.type)) {
        if (f.relation) throw new PrismaSchemaError(`${model.name}.${f.name}: @relation on a scalar field`);
        continue;
      }
      const target = byName.get(f.type);
      if (!target) throw new PrismaSchemaError(`${model.name}.${f.name}: unknown type ${f.type}`);
      if (f.id || f.unique || f.default || f.nativeType || f.updatedAt) throw new PrismaSchemaError(`${model.name}.${f.name}: scalar attribute on a relation field`);
      for (const col of f.relation?.fields ?? []) {
        if (!model.fields.some((x) => x.name === col && SCALARS.has(x.type))) throw new PrismaSchemaError(`${model.name}.${f.name}: unknown field ${col}`);
      }
      for (const col of f.relation?.references ?? []) {
        if (!target.fields.some((x) => x.name === col && SCALARS.has(x.type))) throw new PrismaSchemaError(`${model.name}.${f.name}: unknown reference ${f.type}.${col}`);
      }
    }
    for (const idx of [...model.indexes, ...model.uniques]) {
      for (const col of idx.fields) {
        if (!model.fields.some((x) => x.name === col && SCALARS.has(x.type))) throw new PrismaSchemaError(`${model.name}: index on unknown field ${col}`);
      }
    }
    if (model.fields.filter((f) => f.id).length !== 1) throw new PrismaSchemaError(`${model.name}: exactly one @id field is supported`);
  }
  return models;
}

// ---------------------------------------------------------------------------
// What Prisma Migrate creates in PostgreSQL for a parsed schema, in the same
// normalised shape the migrations test reads back from pg_catalog.

export interface DbColumn {
  type: string; // format_type(): 'integer', 'text[]', 'timestamp(3) with time zone', ...
  nullable: boolean;
  default: string | null; // pg_get_expr() of the column default
}

export interface DbIndex {
  table: string;
  columns: string[];
  unique: boolean;
  primary: boolean;
  method: string; // btree | gin
}

export interface DbForeignKey {
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete: ReferentialAction;
  onUpdate: ReferentialAction;
}

export interface DbSchema {
  tables: Record<string, Record<string, DbColumn>>;
  indexes: Record<string, DbIndex>;
  foreignKeys: Record<string, DbForeignKey>;
}

const PG_TYPES: Record<ScalarType, string> = {
  Int: 'integer',
  String: 'text',
  Boolean: 'boolean',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
  Float: 'double precision',
};

function columnType(f: PrismaField): string {
  let base = PG_TYPES[f.type as ScalarType];
  if (f.nativeType) {
    const { name, args } = f.nativeType;
    base = name === 'Date' ? 'date' : `timestamp(${args[0]}) ${name === 'Timestamptz' ? 'with' : 'without'} time zone`;
  }
  return f.list ? `${base}[]` : base;
}

/** A literal as pg_get_expr() prints it for a column of this type. */
function pgLiteral(value: string | number | boolean, f: PrismaField, where: string): string {
  if (f.type === 'String') {
    if (typeof value !== 'string') throw new PrismaSchemaError(`${where}: default ${JSON.stringify(value)} on a String field`);
    return `'${value.replaceAll("'", "''")}'::text`;
  }
  if (f.type === 'Int') {
    if (typeof value !== 'number' || !Number.isInteger(value)) throw new PrismaSchemaError(`${where}: default ${JSON.stringify(value)} on an Int field`);
    if (value < 0) throw new PrismaSchemaError(`${where}: negative defaults are not supported by this parser`);
    return String(value);
  }
  if (f.type === 'Boolean') {
    if (typeof value !== 'boolean') throw new PrismaSchemaError(`${where}: default ${JSON.stringify(value)} on a Boolean field`);
    return String(value);
  }
  throw new PrismaSchemaError(`${where}: literal defaults on ${f.type} fields are not supported by this parser`);
}

function columnDefault(model: PrismaModel, f: PrismaField): string | null {
  const where = `${model.name}.${f.name}`;
  const d = f.default;
  if (!d) return null;
  switch (d.kind) {
    case 'autoincrement':
      if (f.type !== 'Int' || f.list) throw new PrismaSchemaError(`${where}: autoincrement() needs an Int`);
      return `nextval('${model.table}_${f.name}_seq'::regclass)`;
    case 'now':
      if (f.type !== 'DateTime') throw new PrismaSchemaError(`${where}: now() needs a DateTime`);
      return 'CURRENT_TIMESTAMP';
    case 'literal':
      if (f.list) throw new PrismaSchemaError(`${where}: a list needs a list default`);
      return pgLiteral(d.value, f, where);
    case 'list': {
      if (!f.list) throw new PrismaSchemaError(`${where}: a list default on a scalar field`);
      const element = columnType({ ...f, list: false });
      if (d.values.length === 0) return `ARRAY[]::${element}[]`;
      return `ARRAY[${d.values.map((v) => pgLiteral(v, f, where)).join(', ')}]`;
    }
  }
}

/** Prisma's constraint and index names; Prisma truncates past 63 bytes, which this parser does not model. */
function prismaName(table: string, columns: string[], suffix: string): string {
  const name = `${table}_${columns.join('_')}_${suffix}`;
  if (name.length > 63) throw new PrismaSchemaError(`${name}: names over 63 characters are truncated by Prisma; not supported here`);
  return name;
}

export function expectedDatabase(models: PrismaModel[]): DbSchema {
  const byName = new Map(models.map((m) => [m.name, m]));
  const out: DbSchema = { tables: {}, indexes: {}, foreignKeys: {} };
  for (const model of models) {
    const columns: Record<string, DbColumn> = {};
    for (const f of model.fields) {
      if (!SCALARS.has(f.type)) continue;
      // Prisma never adds NOT NULL to scalar lists.
      columns[f.name] = { type: columnType(f), nullable: f.optional || f.list, default: columnDefault(model, f) };
      if (f.id) out.indexes[`${model.table}_pkey`] = { table: model.table, columns: [f.name], unique: true, primary: true, method: 'btree' };
      if (f.unique) out.indexes[prismaName(model.table, [f.name], 'key')] = { table: model.table, columns: [f.name], unique: true, primary: false, method: 'btree' };
    }
    out.tables[model.table] = columns;
    for (const u of model.uniques) {
      out.indexes[prismaName(model.table, u.fields, 'key')] = { table: model.table, columns: u.fields, unique: true, primary: false, method: 'btree' };
    }
    for (const i of model.indexes) {
      out.indexes[prismaName(model.table, i.fields, 'idx')] = {
        table: model.table,
        columns: i.fields,
        unique: false,
        primary: false,
        method: i.type === 'Gin' ? 'gin' : 'btree',
      };
    }
    for (const f of model.fields) {
      const rel = f.relation;
      if (!rel?.fields) continue;
      const target = byName.get(f.type)!;
      const anyOptional = rel.fields.some((c) => model.fields.find((x) => x.name === c)!.optional);
      out.foreignKeys[prismaName(model.table, rel.fields, 'fkey')] = {
        table: model.table,
        columns: rel.fields,
        refTable: target.table,
        refColumns: rel.references!,
        // Prisma's defaults: SetNull for optional relations, Restrict for required ones; Cascade on update.
        onDelete: rel.onDelete ?? (anyOptional ? 'SetNull' : 'Restrict'),
        onUpdate: rel.onUpdate ?? 'Cascade',
      };
    }
  }
  return out;
}

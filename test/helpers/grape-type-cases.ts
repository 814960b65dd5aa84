import type { GrapeMeta } from '../../src/schemas/common.js';

// What Grape (GitLab's API layer) does with a parameter value of the wrong
// type, per declared type and per source, written out as literal tables: the
// hostile-input suite sends every row for every declared parameter of every
// route, with otherwise valid input from a caller who would otherwise
// succeed, and requires exactly the outcome written here.
//
// Sources:
//   json      - an application/json body ({"p": value}; raw text for repeated keys and raw bytes)
//   form      - an application/x-www-form-urlencoded body (raw `k=v` pairs)
//   multipart - a multipart/form-data body (fields in order, values as raw bytes)
//   query     - the query string (raw `k=v` pairs)
// In pairs and fields, `{p}` is the parameter's name and `{v}` a valid value
// (percent-encoded in pairs).
//
// Grape's rules behind the rows (grape's lib/grape/validations/types and
// dry-types `params.*`, GitLab's lib/api/validations/types):
//   - an Array or a Hash given for a scalar (JSON, or `p[]=` / `p[x]=` in a
//     form or query) cannot be coerced: "<p> is invalid";
//   - a key repeated without brackets takes its last value (Rack's
//     parse_nested_query; JSON parsers keep the last duplicate key): the
//     request is judged by that value alone;
//   - Integer: dry-types `params.integer` takes digits, never true/false or words;
//   - Boolean: dry-types `params.bool` takes the spellings true/false, yes/no,
//     on/off, t/f, y/n, 1/0 (and the numbers 1 and 0), nothing else;
//   - String: Coercible::String turns numbers and booleans into their text, so
//     12345 answers exactly as "12345" does;
//   - a String with `values:` (Enum) checks the text against the list: "<p> does not have a valid value";
//   - Hash: only a JSON object or `p[k]=v` fields;
//   - Date / DateTime: a date text, never a number, a boolean or a word;
//   - Array[String] / Array[Integer] declared with CommaSeparatedToArray /
//     CommaSeparatedToIntegerArray accept a list, a comma-separated text,
//     `p[]=` and repeated keys.
// Invalid UTF-8 or a malformed `%` escape anywhere is answered before any
// handler with 400 {"message":"400 Bad request - invalid UTF-8 or
// percent-encoding in the <part>"} (GitLab's HandleMalformedStrings answers a
// plain-text 400; this server keeps GitLab's JSON error shape).

export type Source = 'json' | 'form' | 'multipart' | 'query';

/** A valid value of the parameter, filled in when the case is built. */
export const VALID = Symbol('a valid value');
type Value = unknown;

export type Send =
  /** JSON body `{…baseline, "p": value}`. */
  | { json: Value }
  /** JSON body text with the key repeated: `{…baseline, "p": a, "p": b}`. */
  | { jsonRepeated: Value[] }
  /** JSON body `{…baseline, "p": "<these bytes>"}`, the bytes unescaped. */
  | { jsonBytes: Buffer }
  /** Form body or query string: baseline pairs, then these raw pairs. */
  | { pairs: string[] }
  /** Multipart body: baseline fields, then these fields (name, raw value). */
  | { fields: [string, string | Buffer][] };

export type Outcome =
  /** 400 {"error":"<p> is invalid"} and nothing changed. */
  | 'invalid'
  /** 400 {"error":"<p> does not have a valid value"} and nothing changed. */
  | 'not-valid-value'
  /** 400 {"message":"400 Bad request - invalid UTF-8 or percent-encoding in the …"} and nothing changed. */
  | 'bad-encoding'
  /** Accepted, as the valid baseline is (the same 2xx). */
  | 'ok'
  /** Answered exactly as the same request with this JSON string instead (status and body). */
  | { sameAs: string };

export interface TypeCase {
  label: string;
  source: Source;
  send: Send;
  expect: Outcome;
}

/** The body of each encoding rejection, per source. */
export const BAD_ENCODING_BODY: Record<Source, { message: string }> = {
  query: { message: '400 Bad request - invalid UTF-8 or percent-encoding in the query string' },
  form: { message: '400 Bad request - invalid UTF-8 or percent-encoding in the request body' },
  multipart: { message: '400 Bad request - invalid UTF-8 or percent-encoding in the request body' },
  json: { message: '400 Bad request - invalid UTF-8 or percent-encoding in the JSON body' },
};

/** `%C3%28`: a UTF-8 lead byte followed by a byte that cannot continue it. */
const BAD_UTF8 = Buffer.from([0x61, 0xc3, 0x28, 0x62]);

/** Every type, every source: invalid UTF-8 and malformed escapes. */
const ENCODING: TypeCase[] = [
  { label: 'invalid UTF-8 (%C3%28)', source: 'query', send: { pairs: ['{p}=a%C3%28b'] }, expect: 'bad-encoding' },
  { label: 'malformed escape (%E0%A4%A)', source: 'query', send: { pairs: ['{p}=%E0%A4%A'] }, expect: 'bad-encoding' },
  { label: 'invalid UTF-8 (%C3%28)', source: 'form', send: { pairs: ['{p}=a%C3%28b'] }, expect: 'bad-encoding' },
  { label: 'malformed escape (%E0%A4%A)', source: 'form', send: { pairs: ['{p}=%E0%A4%A'] }, expect: 'bad-encoding' },
  { label: 'malformed escape (a lone %)', source: 'form', send: { pairs: ['{p}=100%'] }, expect: 'bad-encoding' },
  { label: 'raw invalid UTF-8 bytes', source: 'multipart', send: { fields: [['{p}', BAD_UTF8]] }, expect: 'bad-encoding' },
  { label: 'raw invalid UTF-8 bytes in a string', source: 'json', send: { jsonBytes: BAD_UTF8 }, expect: 'bad-encoding' },
];

/** `p[]=`, `p[x]=` and repeated keys, for a scalar whose `bad` text is not of its type (or outside its values). */
function scalarFormCases(bad: string, badOutcome: Outcome): TypeCase[] {
  const out: TypeCase[] = [];
  for (const source of ['form', 'query'] as const) {
    out.push(
      { label: 'p[]= (an array)', source, send: { pairs: ['{p}[]={v}'] }, expect: 'invalid' },
      { label: 'p[x]= (a hash)', source, send: { pairs: ['{p}[x]={v}'] }, expect: 'invalid' },
      { label: `repeated, the last ${bad}`, source, send: { pairs: ['{p}={v}', `{p}=${bad}`] }, expect: badOutcome },
      { label: 'repeated, the last valid', source, send: { pairs: [`{p}=${bad}`, '{p}={v}'] }, expect: 'ok' },
    );
  }
  out.push(
    { label: 'p[] field (an array)', source: 'multipart', send: { fields: [['{p}[]', '{v}']] }, expect: 'invalid' },
    { label: `repeated field, the last ${bad}`, source: 'multipart', send: { fields: [['{p}', '{v}'], ['{p}', bad]] }, expect: badOutcome },
    { label: 'repeated field, the last valid', source: 'multipart', send: { fields: [['{p}', bad], ['{p}', '{v}']] }, expect: 'ok' },
    { label: `repeated JSON key, the last ${bad}`, source: 'json', send: { jsonRepeated: [VALID, bad] }, expect: badOutcome },
    { label: 'repeated JSON key, the last valid', source: 'json', send: { jsonRepeated: [bad, VALID] }, expect: 'ok' },
  );
  return out;
}

const json = (label: string, value: Value, expect: Outcome): TypeCase => ({ label, source: 'json', send: { json: value }, expect });

/** The rows per declared Grape type (schemas/common.ts GrapeMeta). */
export function typeCases(meta: GrapeMeta): TypeCase[] {
  switch (meta.grape) {
    case 'Integer':
      return [
        json('a JSON array', [VALID], 'invalid'),
        json('a JSON object', { a: VALID }, 'invalid'),
        json('true', true, 'invalid'),
        json('false', false, 'invalid'),
        json('a word', 'twelve', 'invalid'),
        json('digits with a letter', '12a', 'invalid'),
        ...scalarFormCases('twelve', 'invalid'),
        ...ENCODING,
      ];
    case 'Boolean':
      return [
        json('a JSON array', [true], 'invalid'),
        json('a JSON object', { a: true }, 'invalid'),
        json('the number 2', 2, 'invalid'),
        json('a word', 'maybe', 'invalid'),
        json('mixed case tRuE', 'tRuE', 'invalid'),
        json('the number 1', 1, 'ok'),
        json('"yes"', 'yes', 'ok'),
        json('"On"', 'On', 'ok'),
        ...scalarFormCases('maybe', 'invalid'),
        ...ENCODING,
      ];
    case 'String':
      return [
        json('a JSON array', ['a'], 'invalid'),
        json('a JSON object', { a: 'b' }, 'invalid'),
        json('an empty JSON array', [], 'invalid'),
        json('a number', 12345, { sameAs: '12345' }),
        json('true', true, { sameAs: 'true' }),
        { label: 'p[]= (an array)', source: 'form', send: { pairs: ['{p}[]=a'] }, expect: 'invalid' },
        { label: 'p[x]= (a hash)', source: 'form', send: { pairs: ['{p}[x]=a'] }, expect: 'invalid' },
        { label: 'repeated, the last valid', source: 'form', send: { pairs: ['{p}=other', '{p}={v}'] }, expect: 'ok' },
        { label: 'p[]= (an array)', source: 'query', send: { pairs: ['{p}[]=a'] }, expect: 'invalid' },
        { label: 'p[x]= (a hash)', source: 'query', send: { pairs: ['{p}[x]=a'] }, expect: 'invalid' },
        { label: 'repeated, the last valid', source: 'query', send: { pairs: ['{p}=other', '{p}={v}'] }, expect: 'ok' },
        { label: 'p[] field (an array)', source: 'multipart', send: { fields: [['{p}[]', 'a']] }, expect: 'invalid' },
        { label: 'repeated field, the last valid', source: 'multipart', send: { fields: [['{p}', 'other'], ['{p}', '{v}']] }, expect: 'ok' },
        { label: 'repeated JSON key, the last valid', source: 'json', send: { jsonRepeated: [['a'], VALID] }, expect: 'ok' },
        ...ENCODING,
      ];
    case 'Enum':
      return [
        json('a JSON array', [VALID], 'invalid'),
        json('a JSON object', { a: VALID }, 'invalid'),
        json('a value not in the list', 'no_such_value', 'not-valid-value'),
        json('a number not in the list', 12345, 'not-valid-value'),
        ...scalarFormCases('no_such_value', 'not-valid-value'),
        ...ENCODING,
      ];
    case 'Hash':
      return [
        json('a string', 'text', 'invalid'),
        json('a JSON array', [{ a: 1 }], 'invalid'),
        json('a number', 1, 'invalid'),
        json('true', true, 'invalid'),
        { label: 'p= (a string)', source: 'form', send: { pairs: ['{p}=text'] }, expect: 'invalid' },
        { label: 'p[]= (an array)', source: 'form', send: { pairs: ['{p}[]=1'] }, expect: 'invalid' },
        { label: 'p= (a string)', source: 'query', send: { pairs: ['{p}=text'] }, expect: 'invalid' },
        { label: 'p= (a string field)', source: 'multipart', send: { fields: [['{p}', 'text']] }, expect: 'invalid' },
        ...ENCODING.filter((c) => c.source !== 'json' && c.source !== 'multipart').map((c) => ({ ...c, send: { pairs: (c.send as { pairs: string[] }).pairs.map((p) => p.replace('{p}=', '{p}[name]=')) } })),
      ];
    case 'Array[Hash]':
      return [
        json('a string', 'text', 'invalid'),
        json('a number', 1, 'invalid'),
        json('an array of strings', ['text'], 'invalid'),
        { label: 'p= (a string)', source: 'form', send: { pairs: ['{p}=text'] }, expect: 'invalid' },
      ];
    case 'Date':
    case 'DateTime':
      return [
        json('a JSON array', [VALID], 'invalid'),
        json('a JSON object', { a: VALID }, 'invalid'),
        json('a number', 20260101, 'invalid'),
        json('true', true, 'invalid'),
        json('a word', 'not-a-date', 'invalid'),
        ...scalarFormCases('not-a-date', 'invalid'),
        ...ENCODING,
      ];
    case 'Array[String]':
    case 'Array[Integer]':
      return [
        json('a JSON list', [VALID], 'ok'),
        { label: 'p[]=', source: 'form', send: { pairs: ['{p}[]={v}'] }, expect: 'ok' },
        { label: 'repeated key', source: 'form', send: { pairs: ['{p}={v}', '{p}={v}'] }, expect: 'ok' },
        { label: 'comma-separated', source: 'query', send: { pairs: ['{p}={v}%2C{v}'] }, expect: 'ok' },
        { label: 'repeated key', source: 'query', send: { pairs: ['{p}={v}', '{p}={v}'] }, expect: 'ok' },
        { label: 'p[] fields', source: 'multipart', send: { fields: [['{p}[]', '{v}'], ['{p}[]', '{v}']] }, expect: 'ok' },
        ...(meta.values ? [json('a JSON list with a value not in the list', ['no_such_value'], 'not-valid-value')] : []),
        ...(meta.strict ? [json('a JSON object', { a: 'b' }, 'invalid')] : []),
        ...ENCODING,
      ];
    case 'NamespacedId':
      return ENCODING;
  }
}

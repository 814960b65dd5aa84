#!/usr/bin/env node
// The admin CLI as an installed command: loads tsx (the server runs its
// TypeScript sources the same way) and hands over to src/cli/admin.ts.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/admin.ts');

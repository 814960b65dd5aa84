import type { User } from '../generated/prisma/client.js';

/** A direct group or project membership with its user, as the member service returns it and Entities::Member shows it. */
export interface MemberRow {
  access_level: number;
  created_at: Date;
  user: User;
}

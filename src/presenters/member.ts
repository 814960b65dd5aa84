import type { MemberRow } from '../domain/member.js';
import { presentUserBasic } from './user.js';

/** Entities::Member: the user's basic fields merged with the membership. */
export function presentMember(member: MemberRow, base: string) {
  return {
    ...presentUserBasic(member.user, base),
    access_level: member.access_level,
    created_at: member.created_at.toISOString(),
    expires_at: null,
  };
}

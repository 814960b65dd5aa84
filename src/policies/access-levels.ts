export const AccessLevel = {
  NO_ACCESS: 0,
  GUEST: 10,
  PLANNER: 15,
  REPORTER: 20,
  DEVELOPER: 30,
  MAINTAINER: 40,
  OWNER: 50,
} as const;

export const VALID_ACCESS_LEVELS = [10, 15, 20, 30, 40, 50] as const;

export type Visibility = 'private' | 'internal' | 'public';
export const VISIBILITY_LEVELS: Record<Visibility, number> = { private: 0, internal: 10, public: 20 };

/** Who is asking. `null` user = anonymous. */
export interface PolicyActor {
  id: number;
  admin: boolean;
}

/** GitLab version this server models; clients use it for feature detection (GET /version, job payloads). */
export const GITLAB_VERSION = { version: '18.6.0', revision: 'runners-api', kas: { enabled: false, externalUrl: null, version: null }, enterprise: false };

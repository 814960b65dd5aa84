/** A page request after input parsing: 1-based page, per_page already clamped (schemas/common.ts paginationParams). */
export interface PageParams {
  page: number;
  per_page: number;
}

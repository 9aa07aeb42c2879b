import { InvalidParameterError } from '../errors.js';

/**
 * Paging and keyword filtering of a list call, as CloudStack's list APIs take them (`page`,
 * `pagesize`, `keyword`). Without `page` and `pageSize` a list returns every match.
 */
export interface ListOptions {
  /** 1-based page number; with `pageSize` (default: the `default.page.size` setting). */
  page?: number;
  /** Rows per page, 1 to the `default.page.size` setting (500 by default); with or without `page` (default 1). */
  pageSize?: number;
  /**
   * Keeps the records whose name (or display name/text where the record has one) contains this
   * text, case-insensitively, as CloudStack's `keyword` does.
   */
  keyword?: string;
}

/** A validated {@link ListOptions}: the SQL `LIMIT`/`OFFSET` (both absent without paging) and the keyword. */
export interface Paging {
  limit?: number;
  offset?: number;
  /** The keyword, lower-cased, with LIKE's wildcards escaped. */
  keywordPattern?: string;
}

/** Whether `options` asks for paging or a keyword (a list without them runs as before). */
export function wantsPaging(options: ListOptions): boolean {
  return options.page !== undefined || options.pageSize !== undefined || options.keyword !== undefined;
}

/**
 * Validates `options` against the largest page size allowed (`default.page.size`): `page` ≥ 1 and
 * `pageSize` in 1..`maxPageSize`, both integers; `keyword` a string. A bad value is an
 * {@link InvalidParameterError} naming the field.
 */
export function toPaging(options: ListOptions, maxPageSize: number): Paging {
  const paging: Paging = {};
  const { page, pageSize, keyword } = options;
  if (page !== undefined && (typeof page !== 'number' || !Number.isSafeInteger(page) || page < 1))
    throw new InvalidParameterError('page', page, 'must be an integer ≥ 1');
  if (
    pageSize !== undefined &&
    (typeof pageSize !== 'number' || !Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > maxPageSize)
  )
    throw new InvalidParameterError(
      'pageSize',
      pageSize,
      `must be an integer from 1 to ${maxPageSize} (default.page.size)`,
    );
  if (keyword !== undefined && typeof keyword !== 'string')
    throw new InvalidParameterError('keyword', keyword, 'must be a string');
  if (page !== undefined || pageSize !== undefined) {
    paging.limit = pageSize ?? maxPageSize;
    paging.offset = ((page ?? 1) - 1) * paging.limit;
  }
  if (keyword !== undefined && keyword !== '')
    paging.keywordPattern = `%${keyword.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return paging;
}

/** The list options of `filter` and the rest of it (the column filters). */
export function splitListOptions<F extends ListOptions>(
  filter: F,
): { options: ListOptions; rest: Omit<F, keyof ListOptions> } {
  const { page, pageSize, keyword, ...rest } = filter;
  return { options: { page, pageSize, keyword }, rest };
}

/** What every page gets from the shell. */
import type { FunctionComponent } from 'preact';
import type { Api } from './api.js';
import type { Capabilities } from './capabilities.js';
import type { Params } from './router.js';

export interface PageProps {
  api: Api;
  caps: Capabilities;
  params: Params;
  /** The location's query string (`?function=hello`). */
  search: string;
}

export type Page = FunctionComponent<PageProps>;

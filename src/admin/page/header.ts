/**
 * The header every request of the admin page carries: a cross-site form cannot set it, and a cross-site fetch that
 * sets it is stopped by CORS's preflight (session.ts refuses a browser's request without it). Its own module, as the
 * page's script is bundled for the browser, which has no node:crypto.
 */
export const PAGE_HEADER = 'x-baton-page';

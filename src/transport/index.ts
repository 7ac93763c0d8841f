export { createLimitedFetch, type Fetch, type LimitedFetchOptions, type ThrottledRequest } from './limited-fetch.js';

// Where the built dashboard lives (packages/dashboard/dist after `vite build`); the service serves
// this directory at `/`. The directory may not exist when the dashboard has not been built.
import { fileURLToPath } from 'node:url';

export const dashboardAssetsDir = fileURLToPath(new URL('./dist/', import.meta.url));

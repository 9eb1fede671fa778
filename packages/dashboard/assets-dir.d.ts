/** Absolute path of the built dashboard (dist/, with a trailing separator); it may not exist before `npm run build`. */
export declare const dashboardAssetsDir: string;

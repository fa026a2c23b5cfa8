// Types of tools/dist.mjs (plain JavaScript: it runs before anything is compiled).
export declare const REPO_ROOT: string;
export declare const DIST_ENTRY: string;
export declare function newestSourceMs(dirs: string[]): number;
export declare function distIsCurrent(): boolean;
export declare function ensureDist(): void;

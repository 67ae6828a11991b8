export declare const MINIMUM_NODE: string;
export declare function isSupportedNode(version: string, minimum?: string): boolean;
export declare function refuseUnsupportedNode(): void;

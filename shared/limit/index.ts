// The public face of shared/limit/: what the rest of the code base uses of it (imports from outside
// the folder go through here; a dependency rule in npm test keeps it so).
export { formatBandwidth, parseBandwidth } from './bandwidth.js'
export { TokenBucket, type TokenBucketStats } from './token-bucket.js'

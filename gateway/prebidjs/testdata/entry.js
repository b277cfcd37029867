// The Prebid.js bundle of the browser test: the npm package as a publisher builds it, with
// its Prebid Server adapter, nothing changed.
import pbjs from 'prebid.js';
import 'prebid.js/modules/prebidServerBidAdapter';

pbjs.processQueue();

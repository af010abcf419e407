// Types per condition: under Node the package's types have fileStore and not indexedDbStore, and
// internal helpers are stripped. Type-checked only (tsc reports an unused @ts-expect-error).
// @ts-expect-error: indexedDbStore is in the browser entry's types only
import { indexedDbStore } from '@gonitro/nitro';
// @ts-expect-error: setLoader is @internal and stripped from the declarations
import { setLoader } from '@gonitro/nitro';
// @ts-expect-error: the slim entry has neither platform store
import { fileStore } from '@gonitro/nitro/slim';
export { indexedDbStore, setLoader, fileStore };

/** The version `castellan --version` prints: the package's own (bundled into out/cli/ by the build). */
import pkg from '../../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;

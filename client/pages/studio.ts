/** /studio — sign in and broadcast. */
import { installStudioDebugHook } from '../studio/debugHook.js';
import { Studio } from '../studio/Studio.js';

const studio = new Studio();
installStudioDebugHook(studio);
studio.start();

/** / — the directory of live and recent streams. */
import { queryParam } from '../common/queryParam.js';
import { StreamDirectory } from '../directory/StreamDirectory.js';

const directory = new StreamDirectory(queryParam('tag'));
void directory.load();
directory.startRefreshing();

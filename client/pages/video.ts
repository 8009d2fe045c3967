import { queryParam } from '../common/queryParam.js';
import { startVodPage } from '../vod/VodPage.js';

const id = location.pathname.split('/').pop() ?? '';
void startVodPage(decodeURIComponent(id), queryParam('token'));

/** /admin — the operator's console: accounts, live streams and their viewers, recordings, the server. */
import { AdminConsole } from '../admin/AdminConsole.js';

new AdminConsole().start();

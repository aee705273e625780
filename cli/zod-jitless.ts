// zod compiles a parser for each object schema the first time it parses one (JavaScript source
// built in a loop and run through `new Function`). A relay does that when the first client
// registers its proxies, after start-up, and building that source was hot enough for V8 to optimize
// it, which pulls about 4 MiB of the optimizing compiler into an idle relay (issue 21). Every zod
// parse of the relay and client is a config file, a control message (login, register, results,
// diagnoses) or an admin API answer: rare, so the interpreted parser costs nothing that shows, and
// no generated code is run at all. Imported first by program.ts, before any schema is built (zod
// reads the setting when a schema is made).
import { z } from 'zod'

z.config({ jitless: true })

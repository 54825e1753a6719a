-- baton state fixture (a new, empty state). Load with `sqlite3 state.db < empty.sql`; see README.md.
BEGIN TRANSACTION;
CREATE TABLE history (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             serial INTEGER NOT NULL,
             at TEXT NOT NULL,
             address TEXT NOT NULL,
             action TEXT NOT NULL,
             who TEXT NOT NULL,
             before TEXT,
             after TEXT
         );
CREATE TABLE intents (
             address TEXT PRIMARY KEY,
             action TEXT NOT NULL,
             kind TEXT NOT NULL,
             planned TEXT NOT NULL,
             started_at TEXT NOT NULL
         );
CREATE TABLE lock (
             id INTEGER PRIMARY KEY CHECK (id = 1),
             lock_id TEXT NOT NULL,
             holder TEXT NOT NULL,
             host TEXT NOT NULL,
             pid INTEGER NOT NULL,
             operation TEXT NOT NULL,
             since TEXT NOT NULL
         );
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO "meta" VALUES('lineage','00000000-0000-4000-8000-00000000e0e0');
INSERT INTO "meta" VALUES('serial','0');
CREATE TABLE migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL);
INSERT INTO "migrations" VALUES(1,'objects, history, lock','2026-11-25T00:00:00Z');
INSERT INTO "migrations" VALUES(2,'intents and tainted objects','2026-11-25T00:00:00Z');
CREATE TABLE objects (
             address TEXT PRIMARY KEY,
             kind TEXT NOT NULL,
             provider TEXT NOT NULL,
             uid TEXT NOT NULL,
             module TEXT NOT NULL,
             attributes TEXT NOT NULL,
             sensitive TEXT NOT NULL,
             dependencies TEXT NOT NULL,
             updated_serial INTEGER NOT NULL
         , status TEXT NOT NULL DEFAULT 'ok');
DELETE FROM "sqlite_sequence";
COMMIT;

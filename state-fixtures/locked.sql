-- baton state fixture (applied, with a lock held by ci@runner-7). Load with `sqlite3 state.db < locked.sql`; see README.md.
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
INSERT INTO "history" VALUES(1,1,'2026-11-25T00:00:00Z','secret.default#web.session/random_password.value','create','dev@laptop',NULL,'{"length":32,"lower":true,"min_lower":0,"min_numeric":0,"min_special":0,"min_upper":0,"numeric":true,"result":"(sensitive)","special":false,"upper":true}');
INSERT INTO "history" VALUES(2,1,'2026-11-25T00:00:00Z','volume.default#job-queue/local_directory.data','create','dev@laptop',NULL,'{"absolute_path":"/project/.baton/volumes/volume-default--job-queue","path":".baton/volumes/volume-default--job-queue","permission":"0755"}');
INSERT INTO "history" VALUES(3,1,'2026-11-25T00:00:00Z','route.default#web.route/local_file.route','create','dev@laptop',NULL,'{"content":"{\"host\":\"dns-a46b3673.localhost\",\"path\":\"/\",\"port\":80,\"workload\":\"web\"}","content_sha256":"0e516724d7af341cc1ae323b39a33a17c907aa7b32a8d8a7c810c3cfbf91e585","file_permission":"0644","path":".baton/routes/route-9c1aa1e1.json"}');
INSERT INTO "history" VALUES(4,1,'2026-11-25T00:00:00Z','volume.default#web.uploads/local_directory.data','create','dev@laptop',NULL,'{"absolute_path":"/project/.baton/volumes/volume-default--web-uploads","path":".baton/volumes/volume-default--web-uploads","permission":"0755"}');
INSERT INTO "history" VALUES(5,1,'2026-11-25T00:00:00Z','workload.worker','create','dev@laptop',NULL,'{"dir":"deploy/local","files":{"worker.yaml":"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels:\n    app.kubernetes.io/managed-by: baton\n    app.kubernetes.io/name: worker\n  name: worker\nspec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: worker\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/managed-by: baton\n        app.kubernetes.io/name: worker\n    spec:\n      containers:\n      - args:\n        - \"while true; do ls $${QUEUE_DIR}; sleep 5; done\"\n        command:\n        - /bin/sh\n        - -c\n        env:\n        - name: QUEUE_DIR\n          value: /project/.baton/volumes/volume-default--job-queue\n        image: busybox:1.36\n        name: main\n"},"secret_files":"(sensitive)"}');
INSERT INTO "history" VALUES(6,1,'2026-11-25T00:00:00Z','workload.web','create','dev@laptop',NULL,'{"dir":"deploy/local","files":{"web.yaml":"apiVersion: v1\ndata:\n  main.file-0.app.conf: |\n    name = web\n    public_url = http://dns-a46b3673.localhost\nkind: ConfigMap\nmetadata:\n  labels:\n    app.kubernetes.io/managed-by: baton\n    app.kubernetes.io/name: web\n  name: web-files\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  annotations:\n    example.com/team: storefront\n  labels:\n    app.kubernetes.io/managed-by: baton\n    app.kubernetes.io/name: web\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: web\n  template:\n    metadata:\n      annotations:\n        example.com/team: storefront\n      labels:\n        app.kubernetes.io/managed-by: baton\n        app.kubernetes.io/name: web\n    spec:\n      containers:\n      - env:\n        - name: PUBLIC_URL\n          value: http://dns-a46b3673.localhost\n        - name: QUEUE_DIR\n          value: /project/.baton/volumes/volume-default--job-queue\n        - name: SESSION_SECRET\n          valueFrom:\n            secretKeyRef:\n              key: main.env.SESSION_SECRET\n              name: web-secrets\n        image: nginx:1.27\n        name: main\n        readinessProbe:\n          httpGet:\n            path: /healthz\n            port: 8080\n        volumeMounts:\n        - mountPath: /etc/web/app.conf\n          name: files\n          readOnly: true\n          subPath: main.file-0.app.conf\n        - mountPath: /var/uploads\n          name: vol-0\n      volumes:\n      - name: files\n        projected:\n          sources:\n          - configMap:\n              items:\n              - key: main.file-0.app.conf\n                mode: 420\n                path: main.file-0.app.conf\n              name: web-files\n      - hostPath:\n          path: /project/.baton/volumes/volume-default--web-uploads\n        name: vol-0\n---\napiVersion: v1\nkind: Service\nmetadata:\n  annotations:\n    example.com/team: storefront\n  labels:\n    app.kubernetes.io/managed-by: baton\n    app.kubernetes.io/name: web\n  name: web\nspec:\n  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n    targetPort: 8080\n  selector:\n    app.kubernetes.io/name: web\n"},"secret_files":"(sensitive)"}');
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
INSERT INTO "lock" VALUES(1,'7c1e2a9e-0000-4000-8000-000000000001','ci@runner-7','runner-7',4242,'apply','2026-11-25T00:00:00Z');
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO "meta" VALUES('lineage','3c0cd9ab-7a02-46c4-84f8-23cdb7e6d5a6');
INSERT INTO "meta" VALUES('serial','1');
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
INSERT INTO "objects" VALUES('secret.default#web.session/random_password.value','random_password','random','secret.default#web.session','secret','{"length":32,"lower":true,"min_lower":0,"min_numeric":0,"min_special":0,"min_upper":0,"numeric":true,"result":"fixture-not-a-secret-0000000000000","special":false,"upper":true}','["result"]','[]',1,'ok');
INSERT INTO "objects" VALUES('volume.default#job-queue/local_directory.data','local_directory','local','volume.default#job-queue','volume/local','{"absolute_path":"/project/.baton/volumes/volume-default--job-queue","path":".baton/volumes/volume-default--job-queue","permission":"0755"}','[]','[]',1,'ok');
INSERT INTO "objects" VALUES('route.default#web.route/local_file.route','local_file','local','route.default#web.route','route/local','{"content":"{\"host\":\"dns-a46b3673.localhost\",\"path\":\"/\",\"port\":80,\"workload\":\"web\"}","content_sha256":"0e516724d7af341cc1ae323b39a33a17c907aa7b32a8d8a7c810c3cfbf91e585","file_permission":"0644","path":".baton/routes/route-9c1aa1e1.json"}','[]','[]',1,'ok');
INSERT INTO "objects" VALUES('volume.default#web.uploads/local_directory.data','local_directory','local','volume.default#web.uploads','volume/local','{"absolute_path":"/project/.baton/volumes/volume-default--web-uploads","path":".baton/volumes/volume-default--web-uploads","permission":"0755"}','[]','[]',1,'ok');
INSERT INTO "objects" VALUES('workload.worker','workload_manifests','target','','','{"dir":"deploy/local","files":{"worker.yaml":"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels:\n    app.kubernetes.io/managed-by: baton\n    app.kubernetes.io/name: worker\n  name: worker\nspec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: worker\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/managed-by: baton\n        app.kubernetes.io/name: worker\n    spec:\n      containers:\n      - args:\n        - \"while true; do ls $${QUEUE_DIR}; sleep 5; done\"\n        command:\n        - /bin/sh\n        - -c\n        env:\n        - name: QUEUE_DIR\n          value: /project/.baton/volumes/volume-default--job-queue\n        image: busybox:1.36\n        name: main\n"},"secret_files":{}}','["secret_files"]','["volume.default#job-queue/local_directory.data"]',1,'ok');
INSERT INTO "objects" VALUES('workload.web','workload_manifests','target','','','{"dir":"deploy/local","files":{"web.yaml":"apiVersion: v1\ndata:\n  main.file-0.app.conf: |\n    name = web\n    public_url = http://dns-a46b3673.localhost\nkind: ConfigMap\nmetadata:\n  labels:\n    app.kubernetes.io/managed-by: baton\n    app.kubernetes.io/name: web\n  name: web-files\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  annotations:\n    example.com/team: storefront\n  labels:\n    app.kubernetes.io/managed-by: baton\n    app.kubernetes.io/name: web\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: web\n  template:\n    metadata:\n      annotations:\n        example.com/team: storefront\n      labels:\n        app.kubernetes.io/managed-by: baton\n        app.kubernetes.io/name: web\n    spec:\n      containers:\n      - env:\n        - name: PUBLIC_URL\n          value: http://dns-a46b3673.localhost\n        - name: QUEUE_DIR\n          value: /project/.baton/volumes/volume-default--job-queue\n        - name: SESSION_SECRET\n          valueFrom:\n            secretKeyRef:\n              key: main.env.SESSION_SECRET\n              name: web-secrets\n        image: nginx:1.27\n        name: main\n        readinessProbe:\n          httpGet:\n            path: /healthz\n            port: 8080\n        volumeMounts:\n        - mountPath: /etc/web/app.conf\n          name: files\n          readOnly: true\n          subPath: main.file-0.app.conf\n        - mountPath: /var/uploads\n          name: vol-0\n      volumes:\n      - name: files\n        projected:\n          sources:\n          - configMap:\n              items:\n              - key: main.file-0.app.conf\n                mode: 420\n                path: main.file-0.app.conf\n              name: web-files\n      - hostPath:\n          path: /project/.baton/volumes/volume-default--web-uploads\n        name: vol-0\n---\napiVersion: v1\nkind: Service\nmetadata:\n  annotations:\n    example.com/team: storefront\n  labels:\n    app.kubernetes.io/managed-by: baton\n    app.kubernetes.io/name: web\n  name: web\nspec:\n  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n    targetPort: 8080\n  selector:\n    app.kubernetes.io/name: web\n"},"secret_files":{"web.secrets.yaml":"apiVersion: v1\ndata:\n  main.env.SESSION_SECRET: Zml4dHVyZS1ub3QtYS1zZWNyZXQ=\nkind: Secret\nmetadata:\n  labels:\n    app.kubernetes.io/managed-by: baton\n    app.kubernetes.io/name: web\n  name: web-secrets\ntype: Opaque\n"}}','["secret_files"]','["secret.default#web.session/random_password.value","volume.default#job-queue/local_directory.data","volume.default#web.uploads/local_directory.data"]',1,'ok');
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('history',6);
COMMIT;

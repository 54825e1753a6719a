//! Validation speed of a large Score project (issue 2: a 1 MB project validates in well
//! under a second). Run with `cargo bench --bench validate`.
//!
//! The project is generated in memory: N workloads, each with two containers, variables
//! full of placeholders, a file, a volume, probes, and resources (some shared by id).

use baton::diag::{Diagnostics, Sources};
use baton::score::{LoadOptions, load_texts};

fn main() {
    divan::main();
}

/// One realistic workload of about 1.6 KB.
fn workload(i: usize) -> String {
    format!(
        r#"apiVersion: score.dev/v1b1
metadata:
  name: service-{i}
  annotations:
    example.com/team: team-{team}
containers:
  main:
    image: registry.example.com/service-{i}:1.{i}
    command: ["/app/server"]
    args: ["--port", "8080"]
    variables:
      NAME: ${{metadata.name}}
      DB_URL: postgres://${{resources.db.username}}:${{resources.db.password}}@${{resources.db.host}}:${{resources.db.port}}/${{resources.db.name}}
      CACHE: redis://${{resources.cache.host}}:${{resources.cache.port}}
      BUCKET: ${{resources.bucket.bucket}}
      LITERAL: "$${{not-a-placeholder}}"
    files:
      /etc/app/config.yaml:
        mode: "0644"
        content: |
          name: ${{metadata.name}}
          db: ${{resources.db.host}}
    volumes:
      /data:
        source: ${{resources.data}}
        readOnly: false
    resources:
      limits: {{cpu: "500m", memory: "256Mi"}}
      requests: {{cpu: "100m", memory: "128Mi"}}
    livenessProbe:
      httpGet: {{path: /healthz, port: 8080}}
    readinessProbe:
      exec: {{command: ["/app/ready"]}}
  sidecar:
    image: envoyproxy/envoy:v1.31
    before:
      main: {{ready: started}}
service:
  ports:
    http: {{port: 80, targetPort: 8080}}
resources:
  db:
    type: postgres
    params: {{database: "svc_{i}"}}
  cache:
    type: redis
    id: shared-cache-{team}
  bucket:
    type: s3
    params:
      name: ${{metadata.name}}-bucket
  data:
    type: volume
"#,
        team = i % 10
    )
}

fn project(target_bytes: usize) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut total = 0;
    let mut i = 0;
    while total < target_bytes {
        let w = workload(i);
        total += w.len();
        files.push((format!("service-{i}.score.yaml"), w));
        i += 1;
    }
    files
}

fn validate(files: &[(String, String)]) -> usize {
    let texts: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let mut sources = Sources::new();
    let mut diags = Diagnostics::new();
    let p = load_texts(&texts, &LoadOptions::default(), &mut sources, &mut diags);
    assert!(!diags.has_errors(), "generated project must be valid");
    p.workloads.len()
}

#[divan::bench(args = [100_000, 1_000_000])]
fn validate_project(bencher: divan::Bencher, bytes: usize) {
    let files = project(bytes);
    bencher
        .counter(divan::counter::BytesCount::new(
            files.iter().map(|(_, t)| t.len()).sum::<usize>(),
        ))
        .bench(|| validate(&files));
}

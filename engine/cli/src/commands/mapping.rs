//! `lifeboat mapping put FILE` / `lifeboat mapping show SOURCE --at TARGET`:
//! keep a site-mapping document (docs/mapping.md) at its target site,
//! beside the manifests, where recovery reads it (recovery reads only the
//! backup site). `put` validates first and stores nothing invalid.
//!
//! `lifeboat check FILE.yaml` validates a document the same way; both print
//! each problem where it stands ([`report`]).

use super::run::CloudOpts;
use super::runtime;
use crate::cloud::{self, CloudArgs};
use crate::error::{CliError, CmdResult, Exit};
use crate::state;
use lifeboat_actions::mapping::{self, document};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Validate a site mapping and store it at its target site.
    Put {
        /// The document (YAML).
        file: PathBuf,
        /// Also store its reverse (target → source: every name map and
        /// re-IP rule turned round) at its source, for the failback.
        #[arg(long)]
        with_reverse: bool,
        #[command(flatten)]
        clouds: CloudOpts,
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
    },
    /// Print the site mapping stored at `--at` for recoveries from SOURCE.
    Show {
        /// The source site (the primary).
        source: String,
        /// The target site, where the document is kept.
        #[arg(long, value_name = "SITE")]
        at: String,
        #[command(flatten)]
        clouds: CloudOpts,
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
    },
}

/// Whether `path` names a site-mapping document (`lifeboat check` takes
/// them beside runbooks).
pub fn is_mapping(path: &str) -> bool {
    path.ends_with(".yaml") || path.ends_with(".yml")
}

/// Every problem of the document at `path`, printed (rendered, or one line
/// each with `short`); their count. Unreadable: one.
pub fn report(path: &str, short: bool) -> usize {
    match std::fs::read_to_string(path) {
        Ok(src) => print_problems(path, &src, short),
        Err(e) => {
            // Said, and counted with the other problems `check` finds.
            CliError::from(format!("cannot read `{path}`: {e}")).print();
            1
        }
    }
}

/// Print every problem of the document `src` (read from `path`); their count.
fn print_problems(path: &str, src: &str, short: bool) -> usize {
    let Err(problems) = document::parse(src) else {
        return 0;
    };
    for p in &problems {
        if short {
            let (line, col) = p.position(src);
            eprintln!("{path}:{line}:{col}: error[mapping]: {}", p.message);
        } else {
            let d = miette::MietteDiagnostic::new(p.message.clone())
                .with_code("lifeboat::mapping")
                .with_help(p.hint.clone())
                .with_label(miette::LabeledSpan::at(p.span.clone(), "here"));
            let r = miette::Report::new(d)
                .with_source_code(miette::NamedSource::new(path, src.to_string()));
            eprintln!("{r:?}");
        }
    }
    problems.len()
}

pub fn run(args: Args) -> CmdResult {
    match args.command {
        Sub::Put {
            file,
            with_reverse,
            clouds,
            state_dir,
        } => {
            let path = file.display().to_string();
            let src =
                std::fs::read_to_string(&file).map_err(|e| format!("cannot read `{path}`: {e}"))?;
            let doc = match document::parse(&src) {
                Ok(d) => d,
                Err(_) => {
                    let n = print_problems(&path, &src, false);
                    eprintln!("{n} error(s): nothing was stored");
                    return Err(CliError::Reported);
                }
            };
            // Where each document goes: the mapping at its target, and with
            // --with-reverse its reverse (for the failback) at its source.
            let mut puts = vec![(doc.target.clone(), mapping::object_name(&doc.source), src)];
            if with_reverse {
                let back = doc
                    .reversed()
                    .map_err(|e| format!("{path}: {e}; nothing was stored"))?;
                let text = serde_yaml::to_string(&back).map_err(|e| {
                    format!("{path}: cannot write the reverse: {e}; nothing was stored")
                })?;
                puts.push((
                    back.target.clone(),
                    mapping::object_name(&back.source),
                    format!(
                        "# The reverse of {path} ({} → {}), for the failback; written by\n\
                         # `lifeboat mapping put --with-reverse`.\n{text}",
                        doc.source, doc.target
                    ),
                ));
            }
            let sites: Vec<String> = puts.iter().map(|(s, _, _)| s.clone()).collect();
            let said = with_sites(&sites, &clouds, state_dir.as_deref(), |acts| async move {
                let mut said = Vec::new();
                for (site, name, text) in puts {
                    let c = acts.client(&site).map_err(|e| e.to_string())?;
                    c.swift()
                        .put_object(
                            lifeboat_actions::lifeboat::MANIFEST_CONTAINER,
                            &name,
                            text.into_bytes(),
                            "application/yaml",
                        )
                        .await
                        .map_err(|e| format!("{site}: {e}"))?;
                    let from = name
                        .trim_start_matches(".mappings/")
                        .trim_end_matches(".yaml");
                    said.push(format!(
                        "stored at {site}: {}/{name} (recoveries from {from} to {site} read it)",
                        lifeboat_actions::lifeboat::MANIFEST_CONTAINER,
                    ));
                }
                Ok(said.join("\n"))
            })?;
            println!("{said}");
            Ok(Exit::Ok)
        }
        Sub::Show {
            source,
            at,
            clouds,
            state_dir,
        } => {
            let name = mapping::object_name(&source);
            let site = at.clone();
            let text = with_sites(
                std::slice::from_ref(&at),
                &clouds,
                state_dir.as_deref(),
                |acts| async move {
                    let c = acts.client(&site).map_err(|e| e.to_string())?;
                    match c
                    .swift()
                    .get_object(lifeboat_actions::lifeboat::MANIFEST_CONTAINER, &name)
                    .await
                {
                    Ok(body) => Ok(String::from_utf8_lossy(&body).into_owned()),
                    Err(e) if e.kind == lifeboat_openstack::ErrorKind::NotFound => Ok(format!(
                        "# no site mapping from {source} is stored at {site}: recoveries keep every name, address and MAC\n"
                    )),
                    Err(e) => Err(e.to_string()),
                }
                },
            )?;
            print!("{text}");
            Ok(Exit::Ok)
        }
    }
}

/// `f` with the actions of `sites`, their clouds chosen as `lifeboat run`
/// chooses.
fn with_sites<F, Fut>(
    sites: &[String],
    clouds: &CloudOpts,
    state_dir: Option<&std::path::Path>,
    f: F,
) -> Result<String, String>
where
    F: FnOnce(std::sync::Arc<lifeboat_actions::OpenStackActions>) -> Fut,
    Fut: std::future::Future<Output = Result<String, String>>,
{
    let state = state::state_dir(state_dir)?;
    let cargs = CloudArgs {
        cloud: clouds.cloud.as_deref(),
        site_clouds: &clouds.site_clouds,
    };
    let cfg = cloud::choose(sites, &cargs, &state)?;
    let rt = runtime()?;
    rt.block_on(async move {
        let acts = std::sync::Arc::new(cloud::build_actions(&cfg)?);
        f(acts).await
    })
}

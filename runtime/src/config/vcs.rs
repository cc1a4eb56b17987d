//! `vcs.*` of the process (the OpenTelemetry VCS conventions, "VCS repository" and "VCS
//! reference" in `docs/resource/cicd.md`): which code it runs, and where its CI run can be seen.
//!
//! Read from the CI system's documented variables when the process runs in one (GitHub Actions,
//! GitLab CI, Jenkins, Buildkite), else from the git checkout it runs in, else absent. The
//! checkout is read directly (`.git/HEAD`, the ref's file or `packed-refs`, the remote's URL in
//! `.git/config`): no `git` process, a handful of small files, so that `init` stays fast; any
//! file that cannot be read leaves its attribute out and never fails `init`.

use super::Lookup;
use crate::names::ci_env as ci;
use crate::names::vcs as names;
use opentelemetry::KeyValue;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

/// The CI systems whose variables are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CiSystem {
    /// GitHub Actions (`GITHUB_ACTIONS=true`).
    GitHubActions,
    /// GitLab CI (`GITLAB_CI`).
    GitLabCi,
    /// Jenkins (`JENKINS_URL`).
    Jenkins,
    /// Buildkite (`BUILDKITE=true`).
    Buildkite,
}

/// What the process knows of the code it runs and of the CI run it is part of. Every field is
/// optional: what could not be read is left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vcs {
    /// `vcs.repository.url.full`: a browser URL, without credentials, query or `.git`.
    pub repository_url: Option<String>,
    /// `vcs.ref.head.name`: the branch or tag.
    pub ref_name: Option<String>,
    /// `vcs.ref.head.type`: `branch` or `tag`.
    pub ref_type: Option<&'static str>,
    /// `vcs.ref.head.revision`: the commit.
    pub revision: Option<String>,
    /// `vcs.change.id`: the pull or merge request.
    pub change_id: Option<String>,
    /// `vcs.provider.name`, when the CI system says it (`github`, `gitlab`).
    pub provider: Option<&'static str>,
    /// The CI system that was detected, if any.
    pub ci: Option<CiSystem>,
    /// `cicd.pipeline.run.url.full`: the CI run's URL.
    pub ci_run_url: Option<String>,
    /// `cicd.pipeline.task.run.url.full`: the CI job's URL, where the system gives one.
    pub ci_job_url: Option<String>,
}

impl Vcs {
    /// The CI system's variables, then the checkout under `dir` for what they leave out.
    pub fn detect(get: Lookup<'_>, dir: &Path) -> Vcs {
        let mut vcs = Vcs::from_ci(get).unwrap_or_default();
        if vcs.revision.is_none() || vcs.repository_url.is_none() || vcs.ref_name.is_none() {
            if let Some(checkout) = Vcs::from_checkout(dir) {
                vcs.fill_from(checkout);
            }
        }
        vcs
    }

    /// What the CI system's documented variables say, `None` outside a CI system.
    pub fn from_ci(get: Lookup<'_>) -> Option<Vcs> {
        let value = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        if value(ci::GITHUB_ACTIONS).as_deref() == Some("true") {
            Some(github(&value))
        } else if value(ci::GITLAB_CI).is_some() {
            Some(gitlab(&value))
        } else if value(ci::BUILDKITE).as_deref() == Some("true") {
            Some(buildkite(&value))
        } else if value(ci::JENKINS_URL).is_some() {
            Some(jenkins(&value))
        } else {
            None
        }
    }

    /// What the git checkout containing `dir` says, `None` outside one.
    pub fn from_checkout(dir: &Path) -> Option<Vcs> {
        let git = GitDir::find(dir)?;
        let head = read_small(&git.dir.join("HEAD"))?;
        let head = head.trim();
        let mut vcs = Vcs::default();
        if let Some(reference) = head.strip_prefix("ref:").map(str::trim) {
            if let Some(branch) = reference.strip_prefix("refs/heads/") {
                vcs.ref_name = Some(branch.to_owned());
                vcs.ref_type = Some(names::REF_TYPE_BRANCH);
            }
            vcs.revision = git.resolve(reference);
        } else if is_object_id(head) {
            vcs.revision = Some(head.to_owned());
        }
        vcs.repository_url = git.remote_url().and_then(|url| browser_url(&url));
        Some(vcs)
    }

    /// Fills what `self` leaves out from `other`.
    fn fill_from(&mut self, other: Vcs) {
        let same_ref = self.ref_name.is_none() || self.ref_name == other.ref_name;
        self.repository_url = self.repository_url.take().or(other.repository_url);
        if self.ref_name.is_none() {
            self.ref_name = other.ref_name;
            self.ref_type = other.ref_type;
        }
        // A revision of another ref than the CI system's would be wrong: only the same ref's.
        if self.revision.is_none() && same_ref {
            self.revision = other.revision;
        }
    }

    /// Takes the `vcs.*` values given in `OTEL_RESOURCE_ATTRIBUTES` (they win over what was
    /// read), so that provenance names the same code as the resource.
    pub fn apply_resource_overrides(&mut self, resource: &[KeyValue]) {
        for attribute in resource {
            let value = attribute.value.as_str().into_owned();
            match attribute.key.as_str() {
                names::VCS_REPOSITORY_URL_FULL => self.repository_url = Some(value),
                names::VCS_REF_HEAD_NAME => self.ref_name = Some(value),
                names::VCS_REF_HEAD_REVISION => self.revision = Some(value),
                names::VCS_CHANGE_ID => self.change_id = Some(value),
                _ => {}
            }
        }
    }

    /// The resource attributes, in the conventions' names.
    pub fn resource_attributes(&self) -> Vec<KeyValue> {
        [
            (names::VCS_REPOSITORY_URL_FULL, self.repository_url.clone()),
            (names::VCS_REF_HEAD_NAME, self.ref_name.clone()),
            (names::VCS_REF_HEAD_TYPE, self.ref_type.map(str::to_owned)),
            (names::VCS_REF_HEAD_REVISION, self.revision.clone()),
            (names::VCS_CHANGE_ID, self.change_id.clone()),
            (names::VCS_PROVIDER_NAME, self.provider.map(str::to_owned)),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.map(|value| KeyValue::new(key, value)))
        .collect()
    }
}

/// What this process knows of its code and CI run once `init` has read it (`None` before, or
/// with `FACTORY_OBS_VCS=off`), and which names its runs and stages carry.
#[derive(Clone, Debug, Default)]
pub struct ProcessOrigin {
    /// `vcs.*` and the CI run's URLs.
    pub vcs: Option<Vcs>,
    /// `FACTORY_OBS_PIPELINE_SEMCONV`.
    pub semconv: super::PipelineSemconv,
}

static PROCESS_ORIGIN: RwLock<Option<Arc<ProcessOrigin>>> = RwLock::new(None);

/// Set by `init`: what its runs, stages and provenance read.
pub(crate) fn install_process_origin(origin: ProcessOrigin) {
    *PROCESS_ORIGIN
        .write()
        .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(origin));
}

/// What `init` read of this process's code and CI run; the defaults before `init`.
pub fn process_origin() -> Arc<ProcessOrigin> {
    PROCESS_ORIGIN
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_default()
}

type Value<'a> = &'a dyn Fn(&str) -> Option<String>;

fn github(value: Value<'_>) -> Vcs {
    let server = value(ci::GITHUB_SERVER_URL).unwrap_or_else(|| "https://github.com".into());
    let server = server.trim_end_matches('/');
    let repository = value(ci::GITHUB_REPOSITORY);
    let repository_url = repository
        .as_ref()
        .and_then(|repository| browser_url(&format!("{server}/{repository}")));
    // A pull request's run checks out a merge commit on `refs/pull/N/merge`; its branch is
    // GITHUB_HEAD_REF.
    let change_id = value(ci::GITHUB_REF).and_then(|reference| {
        let number = reference.strip_prefix("refs/pull/")?.split('/').next()?;
        Some(number.to_owned()).filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
    });
    let (ref_name, ref_type) = match value(ci::GITHUB_HEAD_REF) {
        Some(head) => (Some(head), Some(names::REF_TYPE_BRANCH)),
        None => (
            value(ci::GITHUB_REF_NAME),
            match value(ci::GITHUB_REF_TYPE).as_deref() {
                Some("tag") => Some(names::REF_TYPE_TAG),
                Some("branch") => Some(names::REF_TYPE_BRANCH),
                _ => None,
            },
        ),
    };
    let ci_run_url = match (&repository_url, value(ci::GITHUB_RUN_ID)) {
        (Some(url), Some(run)) => Some(format!("{url}/actions/runs/{run}")),
        _ => None,
    };
    Vcs {
        repository_url,
        ref_name,
        ref_type,
        revision: value(ci::GITHUB_SHA),
        change_id,
        provider: Some("github"),
        ci: Some(CiSystem::GitHubActions),
        ci_run_url,
        ci_job_url: None,
    }
}

fn gitlab(value: Value<'_>) -> Vcs {
    let tag = value(ci::CI_COMMIT_TAG);
    Vcs {
        repository_url: value(ci::CI_PROJECT_URL).and_then(|url| browser_url(&url)),
        ref_type: Some(if tag.is_some() {
            names::REF_TYPE_TAG
        } else {
            names::REF_TYPE_BRANCH
        }),
        ref_name: value(ci::CI_COMMIT_REF_NAME).or(tag),
        revision: value(ci::CI_COMMIT_SHA),
        change_id: value(ci::CI_MERGE_REQUEST_IID),
        provider: Some("gitlab"),
        ci: Some(CiSystem::GitLabCi),
        ci_run_url: value(ci::CI_PIPELINE_URL).and_then(|url| without_credentials(&url)),
        ci_job_url: value(ci::CI_JOB_URL).and_then(|url| without_credentials(&url)),
    }
}

fn jenkins(value: Value<'_>) -> Vcs {
    let (ref_name, ref_type) = if let Some(tag) = value(ci::TAG_NAME) {
        (Some(tag), Some(names::REF_TYPE_TAG))
    } else if let Some(branch) = value(ci::BRANCH_NAME).or_else(|| {
        // The Git plugin's `origin/main`.
        value(ci::GIT_BRANCH).map(|branch| {
            branch
                .strip_prefix("refs/heads/")
                .or_else(|| branch.strip_prefix("origin/"))
                .unwrap_or(&branch)
                .to_owned()
        })
    }) {
        (Some(branch), Some(names::REF_TYPE_BRANCH))
    } else {
        (None, None)
    };
    let build_url = value(ci::BUILD_URL).and_then(|url| without_credentials(&url));
    Vcs {
        repository_url: value(ci::GIT_URL).and_then(|url| browser_url(&url)),
        ref_name,
        ref_type,
        revision: value(ci::GIT_COMMIT),
        change_id: value(ci::CHANGE_ID),
        provider: None,
        ci: Some(CiSystem::Jenkins),
        ci_run_url: build_url.clone(),
        ci_job_url: build_url,
    }
}

fn buildkite(value: Value<'_>) -> Vcs {
    let tag = value(ci::BUILDKITE_TAG);
    let (ref_name, ref_type) = match tag {
        Some(tag) => (Some(tag), Some(names::REF_TYPE_TAG)),
        None => (value(ci::BUILDKITE_BRANCH), Some(names::REF_TYPE_BRANCH)),
    };
    let build_url = value(ci::BUILDKITE_BUILD_URL).and_then(|url| without_credentials(&url));
    let ci_job_url = match (&build_url, value(ci::BUILDKITE_JOB_ID)) {
        (Some(build), Some(job)) => Some(format!("{build}#{job}")),
        _ => None,
    };
    Vcs {
        repository_url: value(ci::BUILDKITE_REPO).and_then(|url| browser_url(&url)),
        ref_name,
        ref_type,
        // `HEAD` when the build was not given a commit: the checkout says which.
        revision: value(ci::BUILDKITE_COMMIT).filter(|commit| commit != "HEAD"),
        change_id: value(ci::BUILDKITE_PULL_REQUEST).filter(|pr| pr != "false"),
        provider: None,
        ci: Some(CiSystem::Buildkite),
        ci_run_url: build_url,
        ci_job_url,
    }
}

/// A repository's browser URL (`vcs.repository.url.full`): `https://host/owner/name` from
/// `https://user:token@host/owner/name.git`, `git@host:owner/name.git` or
/// `ssh://git@host:22/owner/name.git`; `None` for a local path or an unreadable URL. "The
/// canonical URL SHOULD NOT include the `.git` extension" (`docs/resource/cicd.md`).
pub fn browser_url(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, host, path) = if let Some((head, path)) = scp_like(url) {
        ("https", head, path.to_owned())
    } else {
        let uri: http::Uri = url.parse().ok()?;
        let scheme = match uri.scheme_str()? {
            "http" => "http",
            "https" | "ssh" | "git" | "git+ssh" | "ssh+git" => "https",
            _ => return None,
        };
        let authority = uri.authority()?;
        let host = match (scheme, uri.scheme_str(), authority.port_u16()) {
            // An ssh or git port is not the web server's.
            (_, Some("http" | "https"), Some(port)) => format!("{}:{port}", authority.host()),
            _ => authority.host().to_owned(),
        };
        (scheme, host, uri.path().to_owned())
    };
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let path = path.trim_start_matches('/');
    if host.is_empty() || path.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{host}/{path}"))
}

/// `git@host:owner/name.git` (scp-like syntax, no scheme): the host and the path.
fn scp_like(url: &str) -> Option<(String, &str)> {
    if url.contains("://") {
        return None;
    }
    let (head, path) = url.split_once(':')?;
    let host = head.rsplit_once('@').map_or(head, |(_, host)| host);
    // `C:\\repo` is a Windows path, not a host.
    if host.len() < 2 || host.contains('/') || host.contains('\\') {
        return None;
    }
    Some((host.to_owned(), path))
}

/// A CI system's URL as given, without user information, query or fragment.
fn without_credentials(url: &str) -> Option<String> {
    let uri: http::Uri = url.trim().parse().ok()?;
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?;
    let host = match authority.port_u16() {
        Some(port) => format!("{}:{port}", authority.host()),
        None => authority.host().to_owned(),
    };
    Some(format!("{scheme}://{host}{}", uri.path()))
}

/// A git object id: 40 (SHA-1) or 64 (SHA-256) hexadecimal digits.
fn is_object_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Most bytes read from one small git file (`HEAD`, a ref, `config`, `commondir`).
const SMALL_FILE_MAX: u64 = 64 * 1024;
/// Most lines of `packed-refs` read looking for one ref.
const PACKED_REFS_MAX_LINES: usize = 100_000;
/// Most directories walked up looking for `.git`.
const MAX_DEPTH: usize = 64;

fn read_small(path: &Path) -> Option<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(SMALL_FILE_MAX)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// A checkout's git directory, and the common directory holding its refs and config (the same
/// one, except in a linked worktree).
struct GitDir {
    dir: PathBuf,
    common: PathBuf,
}

impl GitDir {
    fn find(start: &Path) -> Option<GitDir> {
        let mut here = Some(start);
        for _ in 0..MAX_DEPTH {
            let dir = here?;
            let dot_git = dir.join(".git");
            if dot_git.is_dir() {
                return Some(GitDir::with_common(dot_git));
            }
            if dot_git.is_file() {
                // A linked worktree or a submodule: `gitdir: <path>`.
                let text = read_small(&dot_git)?;
                let target = text.trim().strip_prefix("gitdir:")?.trim();
                return Some(GitDir::with_common(dir.join(target)));
            }
            here = dir.parent();
        }
        None
    }

    fn with_common(dir: PathBuf) -> GitDir {
        let common = read_small(&dir.join("commondir"))
            .map(|text| dir.join(text.trim()))
            .unwrap_or_else(|| dir.clone());
        GitDir { dir, common }
    }

    /// The commit `reference` (`refs/heads/main`) points at: its loose file, else `packed-refs`.
    fn resolve(&self, reference: &str) -> Option<String> {
        if reference
            .split('/')
            .any(|part| part == ".." || part.is_empty())
        {
            return None;
        }
        for dir in [&self.dir, &self.common] {
            if let Some(text) = read_small(&dir.join(reference)) {
                let id = text.trim();
                return is_object_id(id).then(|| id.to_owned());
            }
        }
        let packed = std::fs::File::open(self.common.join("packed-refs")).ok()?;
        BufReader::new(packed)
            .lines()
            .take(PACKED_REFS_MAX_LINES)
            .map_while(Result::ok)
            .find_map(|line| {
                let (id, name) = line.split_once(' ')?;
                (name.trim() == reference && is_object_id(id)).then(|| id.to_owned())
            })
    }

    /// The URL of the remote `origin`, else of the first remote, in `config`.
    fn remote_url(&self) -> Option<String> {
        let config = read_small(&self.common.join("config"))?;
        let mut section = String::new();
        let mut first = None;
        for line in config.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_owned();
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            if key.trim() != "url" || !section.starts_with("[remote ") {
                continue;
            }
            let value = value.trim().trim_matches('"').to_owned();
            if section == "[remote \"origin\"]" {
                return Some(value);
            }
            first.get_or_insert(value);
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from_ci(vars: &[(&str, &str)]) -> Option<Vcs> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Vcs::from_ci(&|name: &str| vars.get(name).cloned())
    }

    #[test]
    fn browser_urls_lose_credentials_and_the_git_extension() {
        for (given, expected) in [
            (
                "https://x-access-token:ghs_secret@github.com/acme/shop.git",
                Some("https://github.com/acme/shop"),
            ),
            (
                "git@github.com:acme-inc/my-project.git",
                Some("https://github.com/acme-inc/my-project"),
            ),
            (
                "ssh://git@gitlab.example.com:2222/group/sub/repo.git",
                Some("https://gitlab.example.com/group/sub/repo"),
            ),
            (
                "https://gitlab-ci-token:glcbt-secret@gitlab.example.com:8443/g/r.git?x=1#f",
                Some("https://gitlab.example.com:8443/g/r"),
            ),
            ("http://git.internal/r/", Some("http://git.internal/r")),
            ("/srv/git/repo.git", None),
            ("file:///srv/git/repo.git", None),
            ("", None),
        ] {
            assert_eq!(browser_url(given).as_deref(), expected, "{given}");
        }
    }

    #[test]
    fn outside_ci_nothing_is_read_from_the_environment() {
        assert_eq!(from_ci(&[("CI", "true"), ("GITHUB_SHA", "abc")]), None);
        assert_eq!(from_ci(&[("GITHUB_ACTIONS", "false")]), None);
    }

    /// GitHub Actions, "Default environment variables": a pull request's run.
    #[test]
    fn github_actions_pull_request() {
        let vcs = from_ci(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/shop"),
            ("GITHUB_SHA", "ffac537e6cbbf934b08745a378932722df287a53"),
            ("GITHUB_REF", "refs/pull/42/merge"),
            ("GITHUB_REF_NAME", "42/merge"),
            ("GITHUB_HEAD_REF", "feature-x"),
            ("GITHUB_RUN_ID", "1658821493"),
        ])
        .unwrap();
        assert_eq!(
            vcs,
            Vcs {
                repository_url: Some("https://github.com/acme/shop".into()),
                ref_name: Some("feature-x".into()),
                ref_type: Some("branch"),
                revision: Some("ffac537e6cbbf934b08745a378932722df287a53".into()),
                change_id: Some("42".into()),
                provider: Some("github"),
                ci: Some(CiSystem::GitHubActions),
                ci_run_url: Some("https://github.com/acme/shop/actions/runs/1658821493".into()),
                ci_job_url: None,
            }
        );
    }

    /// GitHub Actions: a tag push (`GITHUB_REF_TYPE=tag`).
    #[test]
    fn github_actions_tag() {
        let vcs = from_ci(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "acme/shop"),
            ("GITHUB_SHA", "ffac537e6cbbf934b08745a378932722df287a53"),
            ("GITHUB_REF", "refs/tags/v1.2.0"),
            ("GITHUB_REF_NAME", "v1.2.0"),
            ("GITHUB_REF_TYPE", "tag"),
            ("GITHUB_HEAD_REF", ""),
        ])
        .unwrap();
        assert_eq!(vcs.ref_name.as_deref(), Some("v1.2.0"));
        assert_eq!(vcs.ref_type, Some("tag"));
        assert_eq!(vcs.change_id, None);
        // GITHUB_SERVER_URL unset: github.com.
        assert_eq!(
            vcs.repository_url.as_deref(),
            Some("https://github.com/acme/shop")
        );
    }

    /// GitLab CI, "Predefined CI/CD variables reference": a merge request pipeline. The clone
    /// URL with its job token (`CI_REPOSITORY_URL`) is not read.
    #[test]
    fn gitlab_ci_merge_request() {
        let vcs = from_ci(&[
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_URL", "https://gitlab.example.com/group/project"),
            (
                "CI_REPOSITORY_URL",
                "https://gitlab-ci-token:glcbt-64_secret@gitlab.example.com/group/project.git",
            ),
            ("CI_COMMIT_SHA", "1ecfd275763eff1d6b4844ea3168962458c9f27a"),
            ("CI_COMMIT_REF_NAME", "feature-x"),
            ("CI_MERGE_REQUEST_IID", "7"),
            (
                "CI_PIPELINE_URL",
                "https://gitlab.example.com/group/project/-/pipelines/1234",
            ),
            (
                "CI_JOB_URL",
                "https://gitlab.example.com/group/project/-/jobs/5678",
            ),
        ])
        .unwrap();
        assert_eq!(
            vcs,
            Vcs {
                repository_url: Some("https://gitlab.example.com/group/project".into()),
                ref_name: Some("feature-x".into()),
                ref_type: Some("branch"),
                revision: Some("1ecfd275763eff1d6b4844ea3168962458c9f27a".into()),
                change_id: Some("7".into()),
                provider: Some("gitlab"),
                ci: Some(CiSystem::GitLabCi),
                ci_run_url: Some(
                    "https://gitlab.example.com/group/project/-/pipelines/1234".into()
                ),
                ci_job_url: Some("https://gitlab.example.com/group/project/-/jobs/5678".into()),
            }
        );
        let tag = from_ci(&[
            ("GITLAB_CI", "true"),
            ("CI_COMMIT_REF_NAME", "v2"),
            ("CI_COMMIT_TAG", "v2"),
        ])
        .unwrap();
        assert_eq!(
            (tag.ref_name.as_deref(), tag.ref_type),
            (Some("v2"), Some("tag"))
        );
    }

    /// Jenkins: the Git plugin's variables (a freestyle job) and a multibranch pull request.
    #[test]
    fn jenkins_git_plugin_and_multibranch() {
        let vcs = from_ci(&[
            ("JENKINS_URL", "https://ci.example.com/"),
            ("BUILD_URL", "https://ci.example.com/job/shop/15/"),
            (
                "GIT_URL",
                "https://deploy:hunter2@git.example.com/acme/shop.git",
            ),
            ("GIT_COMMIT", "a3f9c12e8b0000000000000000000000000000ff"),
            ("GIT_BRANCH", "origin/feature/x"),
        ])
        .unwrap();
        assert_eq!(
            vcs,
            Vcs {
                repository_url: Some("https://git.example.com/acme/shop".into()),
                ref_name: Some("feature/x".into()),
                ref_type: Some("branch"),
                revision: Some("a3f9c12e8b0000000000000000000000000000ff".into()),
                change_id: None,
                provider: None,
                ci: Some(CiSystem::Jenkins),
                ci_run_url: Some("https://ci.example.com/job/shop/15/".into()),
                ci_job_url: Some("https://ci.example.com/job/shop/15/".into()),
            }
        );
        let pr = from_ci(&[
            ("JENKINS_URL", "https://ci.example.com/"),
            ("BRANCH_NAME", "PR-24"),
            ("CHANGE_ID", "24"),
            ("GIT_BRANCH", "PR-24"),
        ])
        .unwrap();
        assert_eq!(pr.ref_name.as_deref(), Some("PR-24"));
        assert_eq!(pr.change_id.as_deref(), Some("24"));
    }

    /// Buildkite, "Environment variables": a pull request build; `BUILDKITE_COMMIT=HEAD` is no
    /// revision.
    #[test]
    fn buildkite_pull_request() {
        let vcs = from_ci(&[
            ("BUILDKITE", "true"),
            ("BUILDKITE_REPO", "git@github.com:acme-inc/my-project.git"),
            (
                "BUILDKITE_COMMIT",
                "83a20ec058e2fb00e7fa4558c4c6e81e2dcf253d",
            ),
            ("BUILDKITE_BRANCH", "feature-x"),
            ("BUILDKITE_TAG", ""),
            ("BUILDKITE_PULL_REQUEST", "123"),
            (
                "BUILDKITE_BUILD_URL",
                "https://buildkite.com/acme-inc/my-project/builds/1514",
            ),
            ("BUILDKITE_JOB_ID", "e44f9784-e20e-4b93-a21d-f41fd5869db9"),
        ])
        .unwrap();
        assert_eq!(
            vcs,
            Vcs {
                repository_url: Some("https://github.com/acme-inc/my-project".into()),
                ref_name: Some("feature-x".into()),
                ref_type: Some("branch"),
                revision: Some("83a20ec058e2fb00e7fa4558c4c6e81e2dcf253d".into()),
                change_id: Some("123".into()),
                provider: None,
                ci: Some(CiSystem::Buildkite),
                ci_run_url: Some("https://buildkite.com/acme-inc/my-project/builds/1514".into()),
                ci_job_url: Some(
                    "https://buildkite.com/acme-inc/my-project/builds/1514#e44f9784-e20e-4b93-a21d-f41fd5869db9"
                        .into()
                ),
            }
        );
        let head = from_ci(&[
            ("BUILDKITE", "true"),
            ("BUILDKITE_COMMIT", "HEAD"),
            ("BUILDKITE_PULL_REQUEST", "false"),
        ])
        .unwrap();
        assert_eq!((head.revision, head.change_id), (None, None));
    }

    fn fake_checkout(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("fo-vcs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join(".git/refs/heads")).unwrap();
        std::fs::create_dir_all(root.join("src/deep")).unwrap();
        root
    }

    const ID_A: &str = "0123456789abcdef0123456789abcdef01234567";
    const ID_B: &str = "89abcdef0123456789abcdef0123456789abcdef";

    /// A checkout read without git: a loose ref, found from a subdirectory; the origin's URL
    /// without its token.
    #[test]
    fn a_checkout_is_read_from_its_files() {
        let root = fake_checkout("loose");
        std::fs::write(root.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(root.join(".git/refs/heads/main"), format!("{ID_A}\n")).unwrap();
        std::fs::write(
            root.join(".git/config"),
            "[core]\n\tbare = false\n[remote \"upstream\"]\n\turl = git@example.com:u/r.git\n\
             [remote \"origin\"]\n\turl = https://bot:tok3n@github.com/acme/shop.git\n",
        )
        .unwrap();
        let vcs = Vcs::from_checkout(&root.join("src/deep")).unwrap();
        assert_eq!(vcs.revision.as_deref(), Some(ID_A));
        assert_eq!(vcs.ref_name.as_deref(), Some("main"));
        assert_eq!(vcs.ref_type, Some("branch"));
        assert_eq!(
            vcs.repository_url.as_deref(),
            Some("https://github.com/acme/shop")
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    /// A packed ref, a detached HEAD, a linked worktree (`.git` file and `commondir`).
    #[test]
    fn packed_refs_detached_heads_and_worktrees() {
        let root = fake_checkout("packed");
        std::fs::write(root.join(".git/HEAD"), "ref: refs/heads/release\n").unwrap();
        std::fs::write(
            root.join(".git/packed-refs"),
            format!("# pack-refs with: peeled fully-peeled sorted\n{ID_B} refs/heads/main\n{ID_A} refs/heads/release\n"),
        )
        .unwrap();
        let vcs = Vcs::from_checkout(&root).unwrap();
        assert_eq!(vcs.revision.as_deref(), Some(ID_A));
        assert_eq!(vcs.repository_url, None);

        // A linked worktree of that repository, detached at ID_B.
        let worktree = root.join("src/wt");
        std::fs::create_dir_all(&worktree).unwrap();
        let admin = root.join(".git/worktrees/wt");
        std::fs::create_dir_all(&admin).unwrap();
        std::fs::write(admin.join("HEAD"), format!("{ID_B}\n")).unwrap();
        std::fs::write(admin.join("commondir"), "../..\n").unwrap();
        std::fs::write(
            worktree.join(".git"),
            format!("gitdir: {}\n", admin.display()),
        )
        .unwrap();
        let vcs = Vcs::from_checkout(&worktree).unwrap();
        assert_eq!(vcs.revision.as_deref(), Some(ID_B));
        assert_eq!(vcs.ref_name, None);

        // The worktree on a branch: its ref is in the common directory.
        std::fs::write(admin.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        let vcs = Vcs::from_checkout(&worktree).unwrap();
        assert_eq!(vcs.revision.as_deref(), Some(ID_B));
        assert_eq!(vcs.ref_name.as_deref(), Some("main"));
        std::fs::remove_dir_all(root).unwrap();
    }

    /// Unreadable or hostile contents leave attributes out, and never panic.
    #[test]
    fn broken_checkouts_leave_attributes_out() {
        let root = fake_checkout("broken");
        std::fs::write(
            root.join(".git/HEAD"),
            "ref: refs/heads/../../../../etc/passwd\n",
        )
        .unwrap();
        let vcs = Vcs::from_checkout(&root).unwrap();
        assert_eq!(vcs.revision, None);
        std::fs::write(root.join(".git/HEAD"), "not a ref").unwrap();
        assert_eq!(Vcs::from_checkout(&root).unwrap(), Vcs::default());
        std::fs::remove_dir_all(root).unwrap();
    }

    /// This repository's own checkout, as `git` itself reads it.
    #[test]
    fn this_checkout_reads_as_git_says() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .current_dir(here)
                .output()
                .ok()
                .filter(|out| out.status.success())
                .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        };
        let Some(revision) = git(&["rev-parse", "HEAD"]) else {
            eprintln!("not a git checkout, or no git: nothing to compare");
            return;
        };
        let vcs = Vcs::from_checkout(here).unwrap();
        assert_eq!(vcs.revision.as_deref(), Some(revision.as_str()));
        assert_eq!(
            vcs.ref_name,
            git(&["symbolic-ref", "--short", "-q", "HEAD"])
        );
    }

    /// In CI, the checkout fills only what the CI system leaves out, and only for its ref.
    #[test]
    fn the_checkout_fills_what_the_ci_system_leaves_out() {
        let root = fake_checkout("fill");
        std::fs::write(root.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(root.join(".git/refs/heads/main"), ID_A).unwrap();
        let vars: HashMap<&str, &str> = HashMap::from([
            ("BUILDKITE", "true"),
            ("BUILDKITE_COMMIT", "HEAD"),
            ("BUILDKITE_BRANCH", "main"),
        ]);
        let vcs = Vcs::detect(&|name: &str| vars.get(name).map(|v| v.to_string()), &root);
        assert_eq!(vcs.revision.as_deref(), Some(ID_A));
        let vars: HashMap<&str, &str> =
            HashMap::from([("BUILDKITE", "true"), ("BUILDKITE_BRANCH", "other")]);
        let vcs = Vcs::detect(&|name: &str| vars.get(name).map(|v| v.to_string()), &root);
        assert_eq!(vcs.revision, None, "main's commit is not other's");
        std::fs::remove_dir_all(root).unwrap();
    }
}

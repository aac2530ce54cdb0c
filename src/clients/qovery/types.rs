//! Response and request shapes of the Qovery API, copied field by field from the spec
//! (`../shared/reference/qovery-openapi.yaml`). Only the fields the cockpit uses are typed;
//! everything else is ignored on input. Every enum has an `Other(String)` catch-all: the spec
//! grows its enums often (`StateEnum` gained `RECAP` and `UNAVAILABLE`), and an unknown value
//! must never fail a whole response.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string enum with a catch-all variant that keeps the unknown value.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)*
            /// A value this build does not know (the API added it later).
            Other(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(s) => s.as_str(),
                }
            }
            pub fn parse(s: &str) -> $name {
                match s {
                    $($text => $name::$variant,)*
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = String::deserialize(d)?;
                Ok($name::parse(&s))
            }
        }
    };
}

string_enum!(
    /// `StateEnum`: environment and service `state`, `last_deployment_state`, history `status`.
    State {
        Building => "BUILDING",
        BuildError => "BUILD_ERROR",
        Canceled => "CANCELED",
        Canceling => "CANCELING",
        Deleted => "DELETED",
        DeleteError => "DELETE_ERROR",
        DeleteQueued => "DELETE_QUEUED",
        Deleting => "DELETING",
        Deployed => "DEPLOYED",
        Deploying => "DEPLOYING",
        DeploymentError => "DEPLOYMENT_ERROR",
        DeploymentQueued => "DEPLOYMENT_QUEUED",
        Executing => "EXECUTING",
        Queued => "QUEUED",
        Ready => "READY",
        Recap => "RECAP",
        Restarted => "RESTARTED",
        Restarting => "RESTARTING",
        RestartError => "RESTART_ERROR",
        RestartQueued => "RESTART_QUEUED",
        Stopped => "STOPPED",
        Stopping => "STOPPING",
        StopError => "STOP_ERROR",
        StopQueued => "STOP_QUEUED",
        Unavailable => "UNAVAILABLE",
        WaitingDeleting => "WAITING_DELETING",
        WaitingRestarting => "WAITING_RESTARTING",
        WaitingRunning => "WAITING_RUNNING",
        WaitingStopping => "WAITING_STOPPING",
    }
);

impl State {
    /// Ends in `ERROR` (the official CLI's failure rule).
    pub fn is_error(&self) -> bool {
        self.as_str().ends_with("ERROR")
    }
    /// The CLI's `IsTerminalState`: DEPLOYED, DELETED, STOPPED, CANCELED, READY, RESTARTED, or any
    /// `*ERROR`. An unknown value is not terminal (keep watching rather than guess).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            State::Deployed
                | State::Deleted
                | State::Stopped
                | State::Canceled
                | State::Ready
                | State::Restarted
        ) || self.is_error()
    }
    /// The CLI's watch success set: DEPLOYED, RESTARTED, DELETED, STOPPED, CANCELED.
    pub fn is_watch_success(&self) -> bool {
        matches!(
            self,
            State::Deployed | State::Restarted | State::Deleted | State::Stopped | State::Canceled
        )
    }
    /// A state that means something is wrong with a running service.
    pub fn is_failing(&self) -> bool {
        self.is_error() || matches!(self, State::Unavailable)
    }
}

impl Default for State {
    fn default() -> Self {
        State::Other(String::new())
    }
}

string_enum!(
    /// `ClusterStateEnum`.
    ClusterState {
        Building => "BUILDING",
        BuildError => "BUILD_ERROR",
        Canceled => "CANCELED",
        Canceling => "CANCELING",
        Deleted => "DELETED",
        DeleteError => "DELETE_ERROR",
        DeleteQueued => "DELETE_QUEUED",
        Deleting => "DELETING",
        Deployed => "DEPLOYED",
        Deploying => "DEPLOYING",
        DeploymentError => "DEPLOYMENT_ERROR",
        DeploymentQueued => "DEPLOYMENT_QUEUED",
        DryRun => "DRY_RUN",
        Queued => "QUEUED",
        Ready => "READY",
        Stopped => "STOPPED",
        Stopping => "STOPPING",
        StopError => "STOP_ERROR",
        StopQueued => "STOP_QUEUED",
        RestartQueued => "RESTART_QUEUED",
        Restarting => "RESTARTING",
        Restarted => "RESTARTED",
        RestartError => "RESTART_ERROR",
        InvalidCredentials => "INVALID_CREDENTIALS",
    }
);

impl ClusterState {
    pub fn is_error(&self) -> bool {
        self.as_str().ends_with("ERROR") || matches!(self, ClusterState::InvalidCredentials)
    }
    /// Ready to receive deployments (reference §12: `DEPLOYED` or `READY`).
    pub fn is_running(&self) -> bool {
        matches!(self, ClusterState::Deployed | ClusterState::Ready)
    }
}

impl Default for ClusterState {
    fn default() -> Self {
        ClusterState::Other(String::new())
    }
}

string_enum!(
    /// `ServiceDeploymentStatusEnum` / `EnvironmentDeploymentStatusEnum`.
    DeploymentStatus {
        NeverDeployed => "NEVER_DEPLOYED",
        OutOfDate => "OUT_OF_DATE",
        UpToDate => "UP_TO_DATE",
    }
);

string_enum!(
    /// `ServiceActionEnum`.
    ServiceAction {
        Deploy => "DEPLOY",
        Delete => "DELETE",
        Restart => "RESTART",
        Stop => "STOP",
        Unknown => "UNKNOWN",
    }
);

string_enum!(
    /// `ServiceActionStatusEnum`.
    ServiceActionStatus {
        Queued => "QUEUED",
        Ongoing => "ONGOING",
        Success => "SUCCESS",
        Error => "ERROR",
        Executing => "EXECUTING",
        Canceled => "CANCELED",
        Canceling => "CANCELING",
        Never => "NEVER",
    }
);

string_enum!(
    /// `APIVariableScopeEnum`.
    VariableScope {
        Application => "APPLICATION",
        BuiltIn => "BUILT_IN",
        Environment => "ENVIRONMENT",
        Project => "PROJECT",
        Container => "CONTAINER",
        Job => "JOB",
        Helm => "HELM",
        Terraform => "TERRAFORM",
        AgenticWorkflow => "AGENTIC_WORKFLOW",
    }
);

string_enum!(
    /// `APIVariableTypeEnum`.
    VariableType {
        Value => "VALUE",
        Alias => "ALIAS",
        Override => "OVERRIDE",
        BuiltIn => "BUILT_IN",
        File => "FILE",
        ExternalSecret => "EXTERNAL_SECRET",
        FileExternalSecret => "FILE_EXTERNAL_SECRET",
    }
);

string_enum!(
    /// `ContainerRegistryKindEnum`.
    RegistryKind {
        Ecr => "ECR",
        ScalewayCr => "SCALEWAY_CR",
        DockerHub => "DOCKER_HUB",
        GithubCr => "GITHUB_CR",
        GithubEnterpriseCr => "GITHUB_ENTERPRISE_CR",
        GitlabCr => "GITLAB_CR",
        PublicEcr => "PUBLIC_ECR",
        Docr => "DOCR",
        GenericCr => "GENERIC_CR",
        GcpArtifactRegistry => "GCP_ARTIFACT_REGISTRY",
        AzureCr => "AZURE_CR",
    }
);

string_enum!(
    /// `ServiceTypeEnum`.
    ServiceType {
        Application => "APPLICATION",
        Database => "DATABASE",
        Container => "CONTAINER",
        Job => "JOB",
        Helm => "HELM",
        Terraform => "TERRAFORM",
        ArgocdApp => "ARGOCD_APP",
        AgenticWorkflow => "AGENTIC_WORKFLOW",
    }
);

/// `ReferenceObject`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub id: String,
}

/// `{ "results": [...] }`, the shape of almost every list.
#[derive(Debug, Clone, Deserialize)]
pub struct ResultList<T> {
    #[serde(default = "Vec::new")]
    pub results: Vec<T>,
}

/// `Organization` (the fields the cockpit shows).
#[derive(Debug, Clone, Deserialize)]
pub struct Organization {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub plan: Option<String>,
}

/// `Project` (from `GET /organization/{organizationId}/project`).
#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// `Cluster` (from the organization's cluster list; the fields the panels show).
#[derive(Debug, Clone, Deserialize)]
pub struct Cluster {
    pub id: String,
    pub name: String,
    pub region: String,
    /// `CloudVendorEnum` (`AWS`, `SCW`, `GCP`, …), kept as text.
    pub cloud_provider: String,
    #[serde(default)]
    pub status: Option<ClusterState>,
    #[serde(default)]
    pub production: Option<bool>,
}

/// `ClusterStatus`.
#[derive(Debug, Clone, Deserialize)]
pub struct ClusterStatus {
    pub cluster_id: String,
    pub status: ClusterState,
    pub is_deployed: bool,
    #[serde(default)]
    pub last_deployment_date: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub last_execution_id: Option<String>,
    #[serde(default)]
    pub next_k8s_available_version: Option<String>,
}

/// `ClusterReadinessStatus`.
#[derive(Debug, Clone, Deserialize)]
pub struct ClusterReadiness {
    #[serde(default)]
    pub is_ready: bool,
}

/// `Environment` (from `GET /environment/{environmentId}`).
#[derive(Debug, Clone, Deserialize)]
pub struct Environment {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub cluster_id: Option<String>,
    #[serde(default)]
    pub cluster_name: Option<String>,
    #[serde(default)]
    pub project: Option<Reference>,
    #[serde(default)]
    pub organization: Option<Reference>,
}

/// `EnvironmentModeEnum`: an environment's mode, and a clone's `mode`.
pub const ENVIRONMENT_MODES: &[&str] = &["DEVELOPMENT", "PREVIEW", "PRODUCTION", "STAGING"];

/// `CloneEnvironmentRequest`: `name` is required (case insensitive); `cluster_id` puts the
/// clone on another cluster (the DR one); without `project_id` it stays in the source's project.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CloneEnvironmentRequest {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_deployment_rule: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

/// `StatusDetails`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StatusDetails {
    pub action: ServiceAction,
    pub status: ServiceActionStatus,
    #[serde(default)]
    pub sub_action: Option<String>,
}

/// `Status`: a service's status, and (a spec quirk) the answer of `deployEnvironment`.
#[derive(Debug, Clone, Deserialize)]
pub struct Status {
    pub id: String,
    pub state: State,
    #[serde(default)]
    pub service_deployment_status: Option<DeploymentStatus>,
    #[serde(default)]
    pub last_deployment_date: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub is_part_last_deployment: bool,
    #[serde(default)]
    pub deployment_request_id: Option<String>,
    #[serde(default)]
    pub deployment_requests_count: Option<i64>,
    #[serde(default)]
    pub status_details: Option<StatusDetails>,
}

/// `EnvironmentStatus`: the answer of redeploy, stop and deployAllServices.
#[derive(Debug, Clone, Deserialize)]
pub struct EnvironmentStatus {
    pub id: String,
    pub state: State,
    pub last_deployment_state: State,
    #[serde(default)]
    pub last_deployment_date: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub last_deployment_id: Option<String>,
    #[serde(default)]
    pub deployment_status: Option<DeploymentStatus>,
    #[serde(default)]
    pub deployment_request_id: Option<String>,
    #[serde(default)]
    pub total_deployment_duration_in_seconds: Option<i64>,
    #[serde(default)]
    pub triggered_by: Option<String>,
    #[serde(default)]
    pub origin: Option<String>,
}

/// `EnvironmentStatuses`: the environment and every service.
#[derive(Debug, Clone, Deserialize)]
pub struct EnvironmentStatuses {
    pub environment: EnvironmentStatus,
    #[serde(default)]
    pub applications: Vec<Status>,
    #[serde(default)]
    pub containers: Vec<Status>,
    #[serde(default)]
    pub jobs: Vec<Status>,
    #[serde(default)]
    pub databases: Vec<Status>,
    #[serde(default)]
    pub helms: Vec<Status>,
    #[serde(default)]
    pub terraforms: Vec<Status>,
}

impl EnvironmentStatuses {
    /// Every service status with its kind, in a stable order.
    pub fn services(&self) -> impl Iterator<Item = (ServiceType, &Status)> {
        let kinds = [
            (ServiceType::Application, &self.applications),
            (ServiceType::Container, &self.containers),
            (ServiceType::Job, &self.jobs),
            (ServiceType::Database, &self.databases),
            (ServiceType::Helm, &self.helms),
            (ServiceType::Terraform, &self.terraforms),
        ];
        kinds
            .into_iter()
            .flat_map(|(k, v)| v.iter().map(move |s| (k.clone(), s)))
    }
}

/// `ContainerRegistryProviderDetailsResponse`.
#[derive(Debug, Clone, Deserialize)]
pub struct RegistryDetails {
    pub id: String,
    pub name: String,
    pub url: String,
    pub kind: RegistryKind,
}

/// `ContainerRegistryResponse` (the fields used to find a registry by its URL).
#[derive(Debug, Clone, Deserialize)]
pub struct ContainerRegistry {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// `ContainerResponse` (image, tag and registry; use `registry.id`, not `registry_id`).
#[derive(Debug, Clone, Deserialize)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub image_name: String,
    pub tag: String,
    pub registry: RegistryDetails,
    #[serde(default)]
    pub environment: Option<Reference>,
    /// Resources (`ContainerResponse`/`Application`: millicores, MB, instance counts), read by
    /// the Parity row; absent in an answer = unknown, never zero.
    #[serde(default)]
    pub cpu: Option<u64>,
    #[serde(default)]
    pub memory: Option<u64>,
    #[serde(default)]
    pub min_running_instances: Option<u64>,
    #[serde(default)]
    pub max_running_instances: Option<u64>,
}

impl Container {
    /// `registry-host/image:tag` for display.
    pub fn image_ref(&self) -> String {
        let host = self
            .registry
            .url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/');
        format!("{host}/{}:{}", self.image_name, self.tag)
    }
}

/// `Application` (the fields that matter).
#[derive(Debug, Clone, Deserialize)]
pub struct Application {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub git_repository: Option<serde_json::Value>,
    /// Resources (`ContainerResponse`/`Application`: millicores, MB, instance counts), read by
    /// the Parity row; absent in an answer = unknown, never zero.
    #[serde(default)]
    pub cpu: Option<u64>,
    #[serde(default)]
    pub memory: Option<u64>,
    #[serde(default)]
    pub min_running_instances: Option<u64>,
    #[serde(default)]
    pub max_running_instances: Option<u64>,
}

/// `Database`.
#[derive(Debug, Clone, Deserialize)]
pub struct Database {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub db_type: String,
    pub version: String,
    pub mode: String,
}

/// `DeployAllRequest` (the parts the cockpit sends).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DeployAllRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<DeployApplication>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<DeployContainer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeployApplication {
    pub application_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeployContainer {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tag: Option<String>,
}

/// `EnvironmentVariable`.
#[derive(Debug, Clone, Deserialize)]
pub struct EnvironmentVariable {
    pub id: String,
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
    pub scope: VariableScope,
    pub variable_type: VariableType,
    #[serde(default)]
    pub description: Option<String>,
}

/// An `EnvironmentVariable` or `Secret` read for its name and scope only: the `value` field of
/// the answer is never deserialized, so no value is held (the Parity row compares names).
#[derive(Debug, Clone, Deserialize)]
pub struct VariableName {
    pub key: String,
    pub scope: VariableScope,
    #[serde(default)]
    pub variable_type: Option<VariableType>,
}

/// `Secret`: the same shape without `value` ("Clear value will never be returned").
#[derive(Debug, Clone, Deserialize)]
pub struct Secret {
    pub id: String,
    pub key: String,
    pub scope: VariableScope,
    #[serde(default)]
    pub variable_type: Option<VariableType>,
    #[serde(default)]
    pub description: Option<String>,
}

/// `EnvironmentVariableRequest` / `EnvironmentVariableEditRequest` / `SecretRequest` /
/// `SecretEditRequest`: `*key`, `value` (the edit requests need the key every time).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VariableRequest {
    pub key: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `VariableResponse` (unified `/variable` API).
#[derive(Debug, Clone, Deserialize)]
pub struct VariableResponse {
    pub id: String,
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
    pub scope: VariableScope,
    pub variable_type: VariableType,
    pub is_secret: bool,
}

/// `EnvDeploymentStatus`.
#[derive(Debug, Clone, Deserialize)]
pub struct EnvDeploymentStatus {
    #[serde(default)]
    pub deployment_request_id: Option<String>,
    #[serde(default)]
    pub environment_id: Option<String>,
    #[serde(default)]
    pub status: Option<State>,
}

/// `DeploymentHistoryEnvironmentPaginatedResponseList`.
#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentHistoryPage {
    pub page: f64,
    pub page_size: f64,
    #[serde(default)]
    pub results: Vec<DeploymentHistoryEnvironment>,
}

/// `DeploymentHistoryEnvironment` (v1).
#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentHistoryEnvironment {
    pub id: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub status: Option<State>,
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub triggered_by: Option<String>,
    #[serde(default)]
    pub containers: Vec<DeploymentHistoryService>,
    #[serde(default)]
    pub applications: Vec<DeploymentHistoryService>,
    #[serde(default)]
    pub databases: Vec<DeploymentHistoryService>,
}

/// `DeploymentHistoryContainer` / `…Application` / `…Database` (common fields).
#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentHistoryService {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<State>,
    #[serde(default)]
    pub image_name: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
}

/// What an environment action answered. The spec is inconsistent: `deployEnvironment` answers a
/// service-shaped `Status`, the others an `EnvironmentStatus`.
#[derive(Debug, Clone)]
pub enum ActionAccepted {
    Service(Status),
    Environment(EnvironmentStatus),
}

impl ActionAccepted {
    pub fn deployment_request_id(&self) -> Option<&str> {
        match self {
            ActionAccepted::Service(s) => s.deployment_request_id.as_deref(),
            ActionAccepted::Environment(e) => e.deployment_request_id.as_deref(),
        }
    }
    pub fn state(&self) -> &State {
        match self {
            ActionAccepted::Service(s) => &s.state,
            ActionAccepted::Environment(e) => &e.state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_enum_values_are_kept() {
        let s: State = serde_json::from_str("\"HIBERNATING\"").expect("decodes");
        assert_eq!(s, State::Other("HIBERNATING".into()));
        assert_eq!(s.as_str(), "HIBERNATING");
        assert!(!s.is_terminal());
        let k: State = serde_json::from_str("\"DEPLOYED\"").expect("decodes");
        assert_eq!(k, State::Deployed);
        assert!(State::parse("SOMETHING_ERROR").is_error());
    }
}

// The stored shape of a job's and a pipeline's CI configuration (jobs.options, pipelines.config), which the
// pipeline services write and the job request response reads.

export interface CiVariable {
  key: string;
  value: string;
  /** `expand: false` in YAML; the runner then does not expand `$VARS` in it. */
  raw?: boolean;
  /** `variable_type: file` (pipeline variables only). */
  file?: boolean;
}

export interface CiImage {
  name: string;
  entrypoint: string[] | null;
  pull_policy: string[] | null;
}

export interface CiService extends CiImage {
  alias: string | null;
  command: string[] | null;
  variables: CiVariable[];
}

/** What a job keeps of its YAML definition (jobs.options). */
export interface JobOptions {
  script: string[];
  before_script: string[];
  after_script: string[];
  image: CiImage | null;
  services: CiService[];
  variables: CiVariable[];
  /** The job's own `timeout:` in seconds (jobs.timeout holds the effective value once a runner took the job). */
  timeout: number | null;
}

/** What a pipeline keeps of its configuration (pipelines.config). */
export interface PipelineConfig {
  stages: string[];
  /** Global `variables:` of the YAML. */
  variables: CiVariable[];
  /** `variables` given to POST /pipeline; they win over the YAML's. */
  pipeline_variables: CiVariable[];
}

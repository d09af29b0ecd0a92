// A small stand-in for Jenkins' declarative pipeline runtime: it defines the DSL steps a
// Portcullis stage uses and runs them for real, in order (sh runs bash in the workspace, with
// withCredentials binding the secrets as environment variables for its block only).
// Usage: groovy harness.groovy JENKINSFILE CREDENTIALS.json WORKSPACE ARTIFACTS_DIR
// Writes ARTIFACTS_DIR/harness.json: the build result, each step, JUnit counts, archived files.
import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import java.nio.file.FileSystems
import java.nio.file.Files
import java.nio.file.StandardCopyOption

class StepFailed extends RuntimeException {
    StepFailed(String message) { super(message) }
}

class Build {
    Map<String, String> env = [:]
    Map credentials
    File workspace
    File artifacts
    List<Map> steps = []
    List<Map> junit = []
    List<String> archived = []
    String result = 'SUCCESS'

    void sh(String script) {
        def pb = new ProcessBuilder(['bash', '-eo', 'pipefail', '-c', script])
        pb.directory(workspace)
        pb.environment().putAll(env)
        pb.environment().put('WORKSPACE', workspace.path)
        pb.redirectErrorStream(true)
        def process = pb.start()
        def output = process.inputStream.text
        int code = process.waitFor()
        print output
        steps << [step: 'sh', script: script, exit: code]
        if (code != 0) {
            throw new StepFailed("script returned exit code ${code}")
        }
    }

    void withCredentials(List<Map> bindings, Closure body) {
        def saved = new HashMap<String, String>(env)
        bindings.each { b ->
            def stored = credentials[b.credentialsId]
            if (stored == null) {
                throw new StepFailed("no credentials with id ${b.credentialsId}")
            }
            if (b.kind == 'usernamePassword') {
                env[b.usernameVariable] = stored.username
                env[b.passwordVariable] = stored.password
            } else {
                env[b.variable] = stored.secret
            }
        }
        steps << [step: 'withCredentials', ids: bindings*.credentialsId]
        try {
            body.call()
        } finally {
            env.clear()
            env.putAll(saved)
        }
    }

    void junit(Map args) {
        def files = glob(args.testResults)
        if (!files && !args.allowEmptyResults) {
            throw new StepFailed("no test report files were found: ${args.testResults}")
        }
        files.each { f ->
            def root = new XmlSlurper().parse(f)
            def suites = root.name() == 'testsuites' ? root.testsuite : [root]
            int tests = 0, failures = 0, errors = 0
            suites.each { s ->
                tests += s.testcase.size()
                failures += s.testcase.findAll { it.failure.size() > 0 }.size()
                errors += s.testcase.findAll { it.error.size() > 0 }.size()
            }
            junit << [file: f.name, suites: suites.size(), tests: tests, failures: failures,
                      errors: errors]
            if ((failures + errors) > 0 && !args.skipMarkingBuildUnstable && result == 'SUCCESS') {
                result = 'UNSTABLE'
            }
        }
        steps << [step: 'junit', pattern: args.testResults]
    }

    void archiveArtifacts(Map args) {
        def files = glob(args.artifacts)
        if (!files && !args.allowEmptyArchive) {
            throw new StepFailed("no artifacts found that match ${args.artifacts}")
        }
        files.each { f ->
            Files.copy(f.toPath(), new File(artifacts, f.name).toPath(),
                       StandardCopyOption.REPLACE_EXISTING)
            archived << f.name
        }
        steps << [step: 'archiveArtifacts', pattern: args.artifacts]
    }

    List<File> glob(String pattern) {
        def matcher = FileSystems.default.getPathMatcher("glob:" + pattern)
        (workspace.listFiles() ?: []).findAll { it.isFile() && matcher.matches(it.toPath().fileName) }
                                     .sort { it.name }
    }

    void runStage(String name, Closure body) {
        def parts = new StageParts()
        body.delegate = parts
        body.resolveStrategy = Closure.DELEGATE_FIRST
        body.call()
        try {
            withBuild(parts.steps)
        } catch (StepFailed e) {
            println "[harness] stage '${name}' failed: ${e.message}"
            steps << [step: 'stage-failed', stage: name, message: e.message]
            result = 'FAILURE'
        } finally {
            if (parts.always) {
                withBuild(parts.always)
            }
        }
    }

    void withBuild(Closure body) {
        body.delegate = this
        body.resolveStrategy = Closure.DELEGATE_FIRST
        body.call()
    }
}

class StageParts {
    Closure steps
    Closure always
    void steps(Closure c) { steps = c }
    void post(Closure c) {
        c.delegate = this
        c.resolveStrategy = Closure.DELEGATE_FIRST
        c.call()
    }
    void always(Closure c) { always = c }
}

def (jenkinsfile, credentialsFile, workspaceDir, artifactsDir) = args
def build = new Build(credentials: new JsonSlurper().parse(new File(credentialsFile)),
                      workspace: new File(workspaceDir), artifacts: new File(artifactsDir))
build.artifacts.mkdirs()

def binding = new Binding()
binding.setVariable('any', 'any')
binding.setVariable('pipeline', { Closure body -> body.call() })
binding.setVariable('agent', { Object which -> build.steps << [step: 'agent', agent: which] })
binding.setVariable('environment', { Closure body ->
    def vars = [:]
    body.delegate = vars
    body.resolveStrategy = Closure.DELEGATE_FIRST
    body.call()
    vars.each { k, v -> build.env[k as String] = v as String }
})
binding.setVariable('stages', { Closure body -> body.call() })
binding.setVariable('stage', { String name, Closure body -> build.runStage(name, body) })
binding.setVariable('usernamePassword', { Map a -> a + [kind: 'usernamePassword'] })
binding.setVariable('string', { Map a -> a + [kind: 'string'] })

new GroovyShell(binding).evaluate(new File(jenkinsfile))

def report = [result: build.result, steps: build.steps, junit: build.junit,
              archived: build.archived]
new File(build.artifacts, 'harness.json').text = JsonOutput.prettyPrint(JsonOutput.toJson(report))
println "[harness] result: ${build.result}"

import Foundation
import Learning
import Logging
import Store
import Synchronization

/// `eval_run`'s fresh training run, handed to the learning thread: one
/// training at a time in the whole daemon, so an evaluation never trains
/// beside a daemon run (their memory is bounded by one run's).
final class EvaluationTraining: Sendable, Equatable {
    let excluding: Set<String>
    private let result = Mutex<Result<LearnedModel, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(excluding: Set<String>) { self.excluding = excluding }

    func finish(_ r: Result<LearnedModel, any Error>) {
        result.withLock { $0 = r }
        done.signal()
    }

    /// Blocks the caller (a control connection's thread) until the learning thread answers.
    func wait() throws -> LearnedModel {
        done.wait()
        return try result.withLock { $0! }.get()
    }

    static func == (a: EvaluationTraining, b: EvaluationTraining) -> Bool { a === b }
}

/// The learning thread is busy with a training run or a re-prediction.
public struct LearningBusy: Error, CustomStringConvertible {
    public let description: String
}

struct LearningUnavailable: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}

extension LearningService {
    /// Trains a fresh model without the images of `excluding` (content
    /// hashes) on the learning thread and waits for it. Throws `LearningBusy`
    /// at once while a training run or a re-prediction holds the thread:
    /// `eval` does not queue behind a run that may take an hour.
    public func trainForEvaluation(excluding: Set<String>) throws -> LearnedModel {
        let job = EvaluationTraining(excluding: excluding)
        let busy: State? = shared.withLock { s in
            guard case .idle = s.state, s.pending == nil else { return s.state }
            s.state = .training(phase: "evaluation: reading the index", fraction: 0, reason: "eval")
            s.cancelled = false
            s.pending = .evaluate(job)
            return nil
        }
        if let busy {
            let what = switch busy {
            case let .training(phase, fraction, reason): "a training run (\(reason)) is at \(Int(fraction * 100)) % (\(phase))"
            case let .predicting(done, total): "the images are being predicted again (\(done)/\(total))"
            case .idle: "a training run is starting"
            }
            throw LearningBusy(description: "\(what); eval trains a fresh run, one at a time: try again when `revsdctl status` says idle")
        }
        wakeUp.signal()
        return try job.wait()
    }

    func runEvaluationTraining(_ job: EvaluationTraining) {
        job.finish(Result {
            let encoders = try trainableEncoders()
            var data = withZeroShot(try store.labelledRows(encoders: encoders, excluding: job.excluding))
            data.unlabelled = try unlabelledImages(encoders: encoders, excluding: job.excluding)
            logger.info("evaluation: training on \(data.count) labelled images (evaluated ones and their near-duplicates left out)")
            return try LibraryTrainer(options: trainingOptions()).train(data) { [self] phase, fraction in
                shared.withLock { $0.state = .training(phase: "evaluation: " + phase, fraction: fraction, reason: "eval") }
                onProgress()
                return !shared.withLock { $0.cancelled }
            }.model
        })
        shared.withLock { $0.state = .idle }
        onProgress()
    }
}

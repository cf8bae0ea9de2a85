import Foundation
import Learning
import RevsdProtocol
import Synchronization

/// Evaluation sets being collected: `revsdctl eval DIR` sends each image's
/// descriptor in an `eval_add` request under a session id, then asks
/// `eval_run`. Bounded: a few sessions, a cap on images each, and sessions
/// idle for an hour are dropped.
public final class EvaluationSessions: Sendable {
    public static let maxSessions = 4
    public static let maxImages = 100_000
    static let idleLimit: TimeInterval = 3600

    private let sessions = Mutex<[String: (items: [EvaluationItem], touched: Date)]>([:])

    public init() {}

    public func add(_ item: EvaluationItem, session: String) throws(ControlError) {
        try sessions.withLock { (sessions) throws(ControlError) in
            let now = Date()
            sessions = sessions.filter { now.timeIntervalSince($0.value.touched) < Self.idleLimit }
            if sessions[session] == nil, sessions.count >= Self.maxSessions {
                throw ControlError(.busy, "\(Self.maxSessions) evaluations are already being collected; try again later")
            }
            var s = sessions[session] ?? ([], now)
            guard s.items.count < Self.maxImages else { throw ControlError(.badRequest, "an evaluation holds at most \(Self.maxImages) images") }
            s.items.append(item)
            s.touched = now
            sessions[session] = s
        }
    }

    /// Puts a session's items back (an `eval_run` answered `busy`), so the
    /// client can ask again without sending them again.
    public func restore(_ items: [EvaluationItem], session: String) {
        sessions.withLock { $0[session] = (items, Date()) }
    }

    /// Takes the session's items out (nil when unknown).
    public func take(_ session: String) -> [EvaluationItem]? {
        sessions.withLock { $0.removeValue(forKey: session)?.items }
    }
}

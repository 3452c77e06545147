using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Primitives;
using SafeRefs.Subscriptions;
using SafeRefs.Subscriptions.Internal;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// Differential: the same scripted sequences of changes run against <see cref="ChangeToken.OnChange(Func{IChangeToken?}, Action)"/>
/// and <see cref="Subscribe.OnChange"/>; the producer calls, consumer runs and changes they interleave must be identical.
/// </summary>
public sealed class SubscribeOnChangeDifferentialTests
{
    // Script steps: 0 = change; 1 = change, and the next consumer run changes again; 2 = the next three producer calls
    // return tokens that have already changed, then change; 3 = the next producer call returns null, then change.
    private const int StepKinds = 4;

    [Theory]
    [InlineData("000")]
    [InlineData("10")]
    [InlineData("111")]
    [InlineData("20")]
    [InlineData("0210")]
    [InlineData("030")]
    [InlineData("130")]
    public void OnChange_Script_SameRunsAsChangeTokenOnChange(string steps)
    {
        var script = steps.Select(static c => c - '0').ToArray();
        var expected = Run(script, static (producer, consumer) => ChangeToken.OnChange(producer, consumer));
        var actual = Run(script, static (producer, consumer) => Subscribe.OnChange(producer, consumer));

        Assert.Equal(expected, actual);
    }

    [Property(MaxTest = 200)]
    public Property OnChange_RandomScripts_SameRunsAsChangeTokenOnChange()
    {
        var scripts = Gen.ArrayOf(Gen.Choose(0, StepKinds - 1)).ToArbitrary();
        return Prop.ForAll(scripts, static script =>
            Run(script, static (producer, consumer) => ChangeToken.OnChange(producer, consumer))
                .SequenceEqual(Run(script, static (producer, consumer) => Subscribe.OnChange(producer, consumer))));
    }

    [Fact]
    public void OnChange_ChangeWhileConsumerRuns_RunsConsumerAgain()
    {
        var world = new World();
        using var subscription = Subscribe.OnChange(world.Produce, world.Consume);

        world.ChangesInConsumer = 1;
        world.Change();

        Assert.Equal(2, world.Log.Count(static e => e == "consume"));
    }

    [Fact]
    public void OnChange_FirstTokenAlreadyChanged_RunsConsumerBeforeReturning()
    {
        var world = new World { ChangedAhead = 1 };

        using var subscription = Subscribe.OnChange(world.Produce, world.Consume);

        Assert.Equal(["produce", "produce", "consume"], world.Log);
    }

    [Fact]
    public void OnChange_ProducerAlwaysChanged_StopsWithInvalidOperation_NoStackOverflow()
    {
        var world = new World { ChangedAhead = int.MaxValue };
        Exception? thrown = null;

        // A small stack: the recursion this replaces overflowed it (a crash) long before the cap.
        var thread = new Thread(() => thrown = Record.Exception(() => Subscribe.OnChange(world.Produce, world.Consume)), 256 * 1024);
        thread.Start();
        thread.JoinBounded();

        Assert.IsType<InvalidOperationException>(thrown);
        Assert.Equal(ChangeTokenSubscription.MaxInlineChanges, world.Log.Count(static e => e == "consume"));
    }

    [Fact]
    public void OnChange_FirstConsumerRunThrows_PropagatesAndStopsChain()
    {
        var world = new World { ChangedAhead = 1 };
        var calls = 0;

        Assert.Throws<FormatException>(() => Subscribe.OnChange(world.Produce, () =>
        {
            calls++;
            throw new FormatException();
        }));
        world.Change();

        Assert.Equal(1, calls);
    }

    [Fact]
    public void OnChange_ConsumerThrows_ExceptionGoesToTheChanger_ChainGoesOn()
    {
        var world = new World();
        var calls = 0;
        using var subscription = Subscribe.OnChange(world.Produce, () =>
        {
            if (++calls == 1)
            {
                throw new FormatException();
            }
        });

        var thrown = Assert.Throws<AggregateException>(world.Change);
        world.Change();

        Assert.IsType<FormatException>(Assert.Single(thrown.InnerExceptions));
        Assert.Equal(2, calls);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OnChange_TwoFailuresInOneChange_TheLaterReachesTheChanger_AsChangeTokenOnChange(bool producerFailsLater)
    {
        // One change runs two steps (the first takes a token that has already changed): the first consumer run
        // throws, then the second step's consumer (or producer) throws too.
        Assert.Equal(typeof(ArgumentException), FailureOfOneChange(producerFailsLater, static (producer, consumer) => ChangeToken.OnChange(producer, consumer)));
        Assert.Equal(typeof(ArgumentException), FailureOfOneChange(producerFailsLater, static (producer, consumer) => Subscribe.OnChange(producer, consumer)));
    }

    private static Type FailureOfOneChange(bool producerFailsLater, Func<Func<IChangeToken?>, Action, IDisposable> onChange)
    {
        var world = new World();
        var produced = 0;
        var consumed = 0;
        IChangeToken? Produce() => ++produced == 3 && producerFailsLater ? throw new ArgumentException("producer") : world.Produce();
        void Consume()
        {
            world.Consume();
            throw ++consumed == 1 ? new FormatException() : new ArgumentException("consumer");
        }

        using (onChange(Produce, Consume))
        {
            world.ChangedAhead = 1;
            var thrown = Assert.Throws<AggregateException>(world.Change);
            Assert.Equal(producerFailsLater ? 1 : 2, consumed);
            return Assert.Single(thrown.InnerExceptions).GetType();
        }
    }

    private static List<string> Run(int[] script, Func<Func<IChangeToken?>, Action, IDisposable> onChange)
    {
        var world = new World();
        using (onChange(world.Produce, world.Consume))
        {
            foreach (var step in script)
            {
                switch (step)
                {
                    case 1:
                        world.ChangesInConsumer++;
                        break;
                    case 2:
                        world.ChangedAhead += 3;
                        break;
                    case 3:
                        world.NullAhead = true;
                        break;
                    default:
                        break;
                }

                world.Change();
            }
        }

        world.Change();
        return world.Log;
    }

    /// <summary>A reloadable source (as configuration's reload token): each change cancels the current token.</summary>
    private sealed class World
    {
        private CancellationTokenSource _source = new();

        public List<string> Log { get; } = [];

        public int ChangedAhead { get; set; }

        public int ChangesInConsumer { get; set; }

        public bool NullAhead { get; set; }

        public CancellationChangeToken? Produce()
        {
            Log.Add("produce");
            if (NullAhead)
            {
                NullAhead = false;
                return null;
            }

            if (ChangedAhead > 0)
            {
                ChangedAhead--;
                return new CancellationChangeToken(new CancellationToken(canceled: true));
            }

            return new CancellationChangeToken(_source.Token);
        }

        public void Consume()
        {
            Log.Add("consume");
            if (ChangesInConsumer > 0)
            {
                ChangesInConsumer--;
                Change();
            }
        }

        public void Change()
        {
            Log.Add("change");
            var old = _source;
            _source = new CancellationTokenSource();
            old.Cancel();
            old.Dispose();
        }
    }
}
